begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');

select results_eq(
  $$select is_new from hookline.ingest('wa', 'wamid.A', 'whatsapp.message.text', '{"n": 1}', '2026-01-01 10:00Z', '2026-01-01 10:00:05Z')$$,
  array[true],
  'the first delivery of an external id creates an event'
);
select results_eq(
  $$select is_new from hookline.ingest('wa', 'wamid.A', 'whatsapp.message.text', '{"n": 2}')$$,
  array[false],
  'a re-delivery of the same external id is reported as a duplicate'
);
select is((select count(*)::int from hookline.events), 1, 'only one event exists');
select is((select payload from hookline.events), '{"n": 1}'::jsonb, 'the first payload is kept');
select is(
  (select k.event_id from hookline.event_keys k),
  (select e.event_id from hookline.events e),
  'the dedup key points at the event'
);

select * from finish();
rollback;
