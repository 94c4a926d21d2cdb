begin;
select plan(4);

select set_eq(
  $$select p from hookline.premake_partitions('2026-01-30 18:00Z') p where p like 'events%'$$,
  array['events_p20260129', 'events_p20260130', 'events_p20260131', 'events_p20260201', 'events_p20260202'],
  'yesterday, today and three days ahead, across the month boundary'
);
select is_empty(
  $$select hookline.premake_partitions('2026-01-30 23:00Z')$$,
  'a second run creates nothing'
);
select is(
  (select pg_get_expr(c.relpartbound, c.oid) from pg_class c where c.oid = 'hookline.events_p20260201'::regclass),
  $$FOR VALUES FROM ('2026-02-01 00:00:00+00') TO ('2026-02-02 00:00:00+00')$$,
  'a partition covers one UTC day'
);
select has_table('hookline', 'events_default', 'the default partition stays');

select * from finish();
rollback;
