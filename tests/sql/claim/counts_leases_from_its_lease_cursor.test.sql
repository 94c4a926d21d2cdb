begin;
select plan(13);

-- The lease cursor (docs/delivery.md): claim counts an endpoint's unexpired leases from the
-- oldest one that was unexpired at its session's last count, in claim order. Every way a lease
-- ends or changes must keep max_in_flight exact: a finished, expired, released, discarded or
-- retried lease no longer counts; a longer lease of another runner does; a claim at an earlier
-- now counts from the start; a lease taken before leases were numbered (order 0) counts.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 3);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 20) i;
create temp view hint as
  select (pg_catalog.current_setting('hookline.claim_cursor')::jsonb->'l'->>e.endpoint_id::text)::bigint as lease_order
  from hookline.endpoints e where e.name = 'crm';
create function pg_temp.results(leases jsonb, status integer) returns jsonb language sql as $$
  select jsonb_agg(jsonb_build_object('delivery_id', l->'delivery_id', 'lease_token', l->'lease_token', 'status_code', status))
  from jsonb_array_elements(leases) l
$$;

create temp table l1 as select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:00:00Z');
create temp table l2 as select * from hookline.claim('r2', 10, '5 minutes', '2026-03-01 10:00:01Z');
select is((select count(*)::int from l2), 1, 'a runner with a longer lease fills the room left (3 - 2), no more');
select hookline.complete(pg_temp.results((select jsonb_agg(to_jsonb(l1) order by delivery_id) from (select * from l1 order by delivery_id limit 1) l1), 200), '2026-03-01 10:00:02Z');
create temp table l3 as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:02Z');
select is((select count(*)::int from l3), 1, 'a finished lease frees its place');
select is((select lease_order from hint),
  (select min(lease_order) from hookline.deliveries where state = 'in_flight' and next_attempt_at > '2026-03-01 10:00:02Z'),
  'the cursor holds the oldest unexpired lease in claim order');

-- 10:00:31: the other lease of l1 expired at 10:00:30 (not claimed again: older rows are due first).
create temp table l4 as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:31Z');
select is((select count(*)::int from l4), 1, 'an expired lease no longer counts; the longer lease of the other runner does');
select is(hookline.release('r2', (select jsonb_agg(to_jsonb(l2)) from l2), '2026-03-01 10:00:33Z'),
  (select delivery_id from l2), 'the other runner releases its lease');
create temp table l5 as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:33Z');
select is((select count(*)::int from l5), 2, 'a released lease no longer counts (nor the one of l3, expired at 10:00:32)');
select hookline.discard(array[(select min(delivery_id) from l5)], 'test', '2026-03-01 10:00:34Z');
create temp table l6 as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:34Z');
select is((select count(*)::int from l6), 1, 'a discarded lease no longer counts');
select hookline.complete(pg_temp.results((select jsonb_agg(to_jsonb(l6)) from l6), 503), '2026-03-01 10:00:35Z');
create temp table l7 as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:35Z');
select is((select count(*)::int from l7), 1, 'a lease that ended in a retry no longer counts');

-- Everything unexpired at 10:00:36 finishes; a new lease makes the cursor jump past the lease of
-- l1 (expired at 10:00:30) and of l3 (at 10:00:32).
select hookline.complete(pg_temp.results((select jsonb_agg(to_jsonb(l)) from (
  select delivery_id, lease_token from l4 union all select delivery_id, lease_token from l5
  union all select delivery_id, lease_token from l7) l), 200), '2026-03-01 10:00:36Z');
create temp table l8 as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00:36Z');
select is((select lease_order from hint), (select lease_order from hookline.deliveries where delivery_id = (select delivery_id from l8)),
  'with nothing unexpired, the cursor is the new claim''s own order');
select is_empty($$select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:20Z')$$,
  'a claim at an earlier now counts from the start: the leases of l1 and l3 are unexpired then (3 of 3)');
select is((select count(*)::int from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:40Z')), 2,
  'at 10:00:40 they are expired again, and only l8 counts');

-- A lease taken before the change that numbered leases has order 0: a session's first count
-- (by expiry, no cursor yet) sees it, and the cursor starts there.
select set_config('hookline.claim_cursor', '', false);
update hookline.deliveries set lease_order = 0 where delivery_id = (select delivery_id from l8);
select is((select count(*)::int from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:41Z')), 0,
  'a lease of order 0 counts (with the two of 10:00:40)');
select is((select lease_order from hint), 0::bigint, 'and the cursor starts there');

select * from finish();
rollback;
