begin;
select plan(3);

-- A list that names a delivery twice, an earlier lease of it first and then the current one:
-- the current one is released. The token of the first entry for a delivery was the only one
-- compared, so it stayed leased (as complete did with results; both found while writing a
-- concurrency fuzz of the delivery functions).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table first as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
create temp table second as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:01Z');
select is_empty($$select hookline.release('r1', (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token)) from first), '2026-03-01 10:01:01Z')$$,
  'the earlier lease alone releases nothing');
select is((select count(*)::int from hookline.release('r1', (
    select jsonb_agg(l order by o) from (
      select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token) as l, 1 as o from first
      union all
      select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token), 2 from second) x),
    '2026-03-01 10:01:02Z')), 1,
  'listed after the earlier one, the current lease is released');
select is((select (state, runner, next_attempt_at)::text from hookline.deliveries), '(pending,,"2026-03-01 10:01:02+00")',
  'pending again, due at once');

select * from finish();
rollback;
