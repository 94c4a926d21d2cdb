begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');

select throws_ok(
  $$select hookline.ingest('nope', 'x', 'whatsapp.message.text', '{}')$$,
  'HL001', 'unknown source ''nope''',
  'an unknown source is HL001 and names the source'
);
select throws_ok(
  $$select hookline.ingest('wa', '', 'whatsapp.message.text', '{}')$$,
  'HL002', 'external_id must be a non-empty string',
  'an empty external id is HL002'
);
select throws_ok(
  $$select hookline.ingest('wa', 'x', 'WhatsApp Message', '{}')$$,
  'HL002', 'invalid event type ''WhatsApp Message''',
  'a malformed event type is HL002'
);
select is((select count(*)::int from hookline.event_keys), 0, 'nothing was stored by the failed calls');

select * from finish();
rollback;
