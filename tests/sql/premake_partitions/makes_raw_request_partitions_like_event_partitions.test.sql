begin;
select plan(2);

select set_eq(
  $$select p from hookline.premake_partitions('2026-01-30 18:00Z') p where p like 'raw\_requests\_%'$$,
  array['raw_requests_p20260129', 'raw_requests_p20260130', 'raw_requests_p20260131', 'raw_requests_p20260201', 'raw_requests_p20260202'],
  'raw requests get the same day partitions as events'
);
select is(
  (select retention from hookline.partition_policies where table_name = 'raw_requests'),
  (select retention from hookline.partition_policies where table_name = 'events'),
  'raw requests are kept as long as events'
);

select * from finish();
rollback;
