begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.ingest('wa', 'early-' || i, 'whatsapp.message.text', '{}', null, '2026-05-10 08:00Z'::timestamptz + i * interval '1 hour')
from generate_series(1, 3) i;

select results_eq(
  $$select table_name, day, row_count from hookline.default_partition_rows()$$,
  $$values ('events'::text, '2026-05-10'::date, 3::bigint)$$,
  'rows of a day with no partition wait in the default partition, and are visible'
);
select set_eq(
  $$select hookline.repair_default_partitions()$$,
  array['events_p20260510'],
  'repair creates the missing day'
);
select is_empty($$select * from hookline.default_partition_rows()$$, 'the default partition is empty afterwards');
select is(
  (select count(*)::int from hookline.events_p20260510),
  3,
  'the rows moved into their day'
);

select * from finish();
rollback;
