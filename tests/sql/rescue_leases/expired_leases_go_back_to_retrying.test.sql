begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', timeout_ms => 1000, max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 3) i;
create temp table early as select * from hookline.claim('dead-runner', 2, '30 seconds', '2026-03-01 10:00Z');
create temp table late as select * from hookline.claim('live-runner', 1, '30 seconds', '2026-03-01 10:00:20Z');

listen hookline_deliveries;
select is(
  hookline.rescue_leases('2026-03-01 10:00:40Z'),
  'rescued 2 expired leases',
  'the two leases that expired at 10:00:30 are rescued'
);
select results_eq(
  $$select state::text, runner, lease_token is null from hookline.deliveries order by delivery_id$$,
  $$values ('retrying', null::text, true), ('retrying', null, true), ('in_flight', 'live-runner', false)$$,
  'they are retrying with no lease; the live lease is untouched'
);
select is(
  (select count(*)::int from hookline.claim('r3', 10, '30 seconds', '2026-03-01 10:00:41Z')),
  2,
  'and claimable at once'
);
select is(
  (select outcome from hookline.complete(
     (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200)) from early),
     '2026-03-01 10:00:42Z') limit 1),
  'stale',
  'the dead runner''s late result is stale'
);
select is(hookline.rescue_leases('2026-03-01 10:00:43Z'), 'rescued 0 expired leases', 'a second run finds nothing');

select * from finish();
rollback;
