begin;
select plan(4);

select hookline.add_source('acme', 'wa', 'whatsapp', 's', create_tenant => true);
select hookline.receive('wa', '{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.P","timestamp":"1","type":"text"}]}}]}]}',
                        '\x7b7d', '{}', '2026-01-31 12:00Z');

select set_eq(
  $$select p from hookline.premake_partitions('2026-01-30 18:00Z') p where p like 'raw\_requests\_%'$$,
  array['raw_requests_p20260129', 'raw_requests_p20260130', 'raw_requests_p20260131', 'raw_requests_p20260201', 'raw_requests_p20260202'],
  'raw requests get the same day partitions as events'
);
select is(
  (select tableoid::regclass::text from hookline.raw_requests),
  'hookline.raw_requests_p20260131',
  'a raw request that waited in the default partition is moved into its day'
);
select is(
  (select tableoid::regclass::text from hookline.events),
  'hookline.events_p20260131',
  'and so is its event'
);
select is(
  (select retention from hookline.partition_policies where table_name = 'raw_requests'),
  (select retention from hookline.partition_policies where table_name = 'events'),
  'raw requests are kept as long as events'
);

select * from finish();
rollback;
