begin;
select plan(7);

-- Forcing a half-open breaker failed with a check violation (23514: a forced breaker is open or
-- closed, and set_breaker forced it before it changed its state). Found by a concurrency fuzz
-- of the delivery functions, where an operator's call met a breaker that a claim had just
-- turned half-open.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 25);
select hookline.add_subscription('crm', '*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 30) i;
create temp table ep as select 'endpoint:' || endpoint_id as target from hookline.endpoints;

select hookline.set_breaker((select target from ep), 'open', 'deploying', '2026-03-01 10:00Z');
select hookline.set_breaker((select target from ep), 'auto', 'deployed', '2026-03-01 10:00Z');
select is((select count(*)::int from hookline.claim('r1', 30, '30 seconds', '2026-03-01 10:01Z')), 10,
  'after the cool-down, half-open: ten probes');
select is((hookline.set_breaker((select target from ep), 'open', 'not yet', '2026-03-01 10:01:05Z')).state, 'open',
  'a half-open breaker can be forced open');
select is_empty($$select * from hookline.claim('r1', 30, '30 seconds', '2026-03-01 11:00Z')$$,
  'and nothing is claimed while it is forced open');

select hookline.set_breaker((select target from ep), 'auto', 'try again', '2026-03-01 11:00Z');
select is((select count(*)::int from hookline.claim('r1', 30, '30 seconds', '2026-03-01 11:01Z')), 10,
  'half-open again after its cool-down');
select is((hookline.set_breaker((select target from ep), 'closed', 'it is fine', '2026-03-01 11:01:05Z')).state, 'closed',
  'a half-open breaker can be forced closed');
select is((select count(*)::int from hookline.claim('r1', 30, '30 seconds', '2026-03-01 11:01:06Z')), 15,
  'and the endpoint fills its max_in_flight (25, ten of them leased), not the probes');
select results_eq(
  $$select from_state || ' -> ' || to_state from hookline.breaker_transitions
    where reason like 'not yet%' or reason like 'it is fine%' order by transition_id$$,
  $$values ('half_open -> open'), ('half_open -> closed')$$,
  'the transitions are recorded from half-open');

select * from finish();
rollback;
