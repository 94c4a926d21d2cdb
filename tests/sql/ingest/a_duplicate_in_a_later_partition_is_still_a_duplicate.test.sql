begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.premake_partitions('2026-03-01 12:00Z');

select ok(
  (select is_new from hookline.ingest('wa', 'wamid.B', 'whatsapp.message.text', '{}', null, '2026-03-01 23:59:59Z')),
  'stored on March 1st'
);
select ok(
  not (select is_new from hookline.ingest('wa', 'wamid.B', 'whatsapp.message.text', '{}', null, '2026-03-02 00:00:01Z')),
  'redelivered on March 2nd (another partition): a duplicate'
);
select is(
  (select array_agg(tableoid::regclass::text) from hookline.events),
  array['hookline.events_p20260301'],
  'the one event lives in the first day''s partition'
);

select * from finish();
rollback;
