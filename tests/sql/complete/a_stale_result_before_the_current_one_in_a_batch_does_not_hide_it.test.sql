begin;
select plan(4);

-- A batch that holds a late result of an earlier lease and then the result of the current
-- lease of the same delivery: the current one decides. "The first result for a delivery" took
-- the late one, so both were stale, and the answer of the current request was dropped: the
-- delivery stayed in flight until its lease expired and was sent again. Found while
-- writing a concurrency fuzz of the delivery functions (late tokens in shuffled batches).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 2) i;
create temp table first as select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:00Z');
create temp table second as select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:01Z');
create temp table answered as
select * from hookline.complete((
  select jsonb_agg(r order by o)
  from (
    select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 503) as r, 1 as o from first
    union all
    select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200), 2 from second
    union all
    select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 500), 3 from second
  ) x
), '2026-03-01 10:01:01Z');

select results_eq($$select outcome, count(*)::int from answered group by outcome order by outcome$$,
  $$values ('stale', 4), ('succeeded', 2)$$,
  'the current results succeed; the late ones and the repeated current ones are stale');
select is_empty($$select * from hookline.deliveries$$, 'both deliveries left the queue');
select is((select count(*)::int from hookline.attempts where outcome = 'succeeded' and attempt_number = 1), 2,
  'each success is the first attempt of its generation');
select is_empty($$select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:02Z')$$,
  'nothing is sent again');

select * from finish();
rollback;
