begin;
select plan(6);

select hookline.add_source('acme', 'wa', 'whatsapp', 'old', create_tenant => true);

select is(
  (select secret_count from hookline.rotate_secret('wa', 'new')), 2,
  'during a rotation a source has two secrets'
);
select is(
  (select signing_secrets from hookline.source_credentials('wa')), array['new', 'old'],
  'the new secret comes first, the old one stays'
);
select hookline.rotate_secret('wa', 'new');
select is(
  (select signing_secrets from hookline.source_credentials('wa')), array['new', 'old'],
  'rotating to the current secret again changes nothing'
);
select is((select secret_count from hookline.retire_secret('wa')), 1, 'retiring ends the rotation');
select is(
  (select signing_secrets from hookline.source_credentials('wa')), array['new'],
  'retiring keeps only the new secret'
);
select throws_ok(
  $$select * from hookline.rotate_secret('nope', 'x')$$,
  'HL001', 'unknown source ''nope''', 'rotating an unknown source is HL001'
);

select * from finish();
rollback;
