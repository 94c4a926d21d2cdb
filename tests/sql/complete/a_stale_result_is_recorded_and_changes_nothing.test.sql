begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table first as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
create temp table second as select * from hookline.claim('r2', 1, '30 seconds', '2026-03-01 10:01Z');
select is(
  (select outcome from hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 500, 'runner', 'r1')) from first), '2026-03-01 10:01:01Z')),
  'stale', 'the first runner''s late result is stale');
select is((select (state, runner, attempt_count)::text from hookline.deliveries), '(in_flight,r2,0)', 'the second runner''s lease is untouched');
select is(
  (select outcome from hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200)) from second), '2026-03-01 10:01:02Z')),
  'succeeded', 'the current holder completes it');
select is(
  (select outcome from hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200)) from first), '2026-03-01 10:01:03Z')),
  'stale', 'a result after success is stale too');
select is((select array_agg(outcome || ':' || coalesce(runner, '?') order by attempt_id) from hookline.attempts),
  array['stale:r1', 'succeeded:r2', 'stale:?'], 'all three are in the attempt log, one success');

select * from finish();
rollback;
