-- next_due counts an endpoint's room as claim does (hookline._breaker_limit): an open breaker
-- whose cool-down is over has its probes, since the next claim turns it half-open and leases
-- them. It said "not claimable" for it, so a runner whose claim came just before the cool-down
-- ended slept its floor instead of being woken to claim. "Woken": next_due clears the waiting
-- flag it set (hookline._wake notifies the caller at commit). next_due reads the clock, so the
-- times here are the clock's.
begin;
select plan(9);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 20);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, pg_catalog.clock_timestamp() - interval '10 minutes')
from generate_series(1, 5) i;
insert into hookline.circuit_breakers (target, state, window_started_at, changed_at, open_until, cooldown, probes)
select 'endpoint:' || e.endpoint_id, 'open', now(), now(), pg_catalog.clock_timestamp() + interval '1 hour', interval '30 seconds', 2
from hookline.endpoints e;

create function pg_temp.woken() returns boolean language sql as $$
  select not is_waiting from hookline.runner_waits where channel = 'hookline_deliveries'
$$;
create function pg_temp.wait_again() returns void language sql as $$
  update hookline.runner_waits set is_waiting = false where channel = 'hookline_deliveries'
$$;

select ok(hookline.next_due() > pg_catalog.clock_timestamp() + interval '59 minutes', 'cooling down: due when it ends');
select ok(not pg_temp.woken(), 'and the caller is not woken: nothing is claimable');

update hookline.circuit_breakers set open_until = pg_catalog.clock_timestamp() - interval '1 second';
select pg_temp.wait_again();
select ok(hookline.next_due() <= pg_catalog.clock_timestamp(), 'its cool-down over: due now');
select ok(pg_temp.woken(), 'and the caller is woken at once, not after its floor');
select is((select count(*)::int from hookline.claim('r1', 10, '30 seconds', pg_catalog.clock_timestamp())), 2,
  'as the claim agrees: it turns the breaker half-open and leases its probes');
select is((select state from hookline.circuit_breakers), 'half_open', 'half-open now');

-- Its probes in flight: no room, whatever the state says.
update hookline.circuit_breakers set state = 'open', open_until = pg_catalog.clock_timestamp() - interval '1 second';
select pg_temp.wait_again();
select hookline.next_due();
select ok(not pg_temp.woken(), 'an open breaker past its cool-down with its probes in flight: not woken');
select is((select count(*)::int from hookline.claim('r2', 10, '30 seconds', pg_catalog.clock_timestamp())), 0,
  'as the claim agrees');

-- Forced open: never due, never claimable.
update hookline.deliveries set state = 'retrying', lease_token = null, runner = null, next_attempt_at = pg_catalog.clock_timestamp() - interval '1 minute'
where state = 'in_flight';
update hookline.circuit_breakers set state = 'open', is_forced = true, open_until = pg_catalog.clock_timestamp() - interval '1 second';
select pg_temp.wait_again();
select ok(hookline.next_due() is null and not pg_temp.woken(), 'forced open: nothing is due and the caller is not woken');

select * from finish();
rollback;
