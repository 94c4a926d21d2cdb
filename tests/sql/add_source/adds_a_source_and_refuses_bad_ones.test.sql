begin;
select plan(7);

select lives_ok(
  $$select hookline.add_source(tenant_id => 'acme', name => 'acme-wa', kind => 'whatsapp', secret => 's3cret', verify_token => 'vt', create_tenant => true)$$,
  'a source is added, with its tenant when asked'
);
select results_eq(
  $$select name, tenant_id, kind, secret_count, has_verify_token, max_body_bytes from hookline.list_sources()$$,
  $$values ('acme-wa', 'acme', 'whatsapp', 1, true, 4194304)$$,
  'the list shows it with a 4 MiB limit and never the secret'
);
select throws_ok(
  $$select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'other')$$,
  'HL042', 'source ''acme-wa'' already exists', 'a second source of the same name is HL042'
);
select throws_ok(
  $$select hookline.add_source('acme', 'Bad Name', 'whatsapp', 'x')$$,
  'HL043', 'invalid source name ''Bad Name''', 'a name that cannot be a path segment is HL043'
);
select throws_ok(
  $$select hookline.add_source('acme', 'x', 'smtp', 'x')$$,
  'HL043', 'invalid source kind ''smtp''', 'an unknown kind is HL043'
);
select throws_ok(
  $$select hookline.add_source('globex', 'x', 'whatsapp', 'x')$$,
  'HL044', 'unknown tenant ''globex''', 'a tenant that does not exist is HL044 unless create_tenant'
);
select throws_ok(
  $$select * from hookline.show_source('nope')$$,
  'HL001', 'unknown source ''nope''', 'showing an unknown source is HL001'
);

select * from finish();
rollback;
