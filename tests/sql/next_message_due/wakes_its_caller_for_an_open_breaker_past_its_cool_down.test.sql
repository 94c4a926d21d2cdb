-- next_message_due counts a sender's room as claim_messages does (hookline._breaker_limit, the
-- rule hookline._breaker_room applies): an open breaker whose cool-down is over has its probes,
-- since the next claim turns it half-open and leases them. It said "not claimable" for every
-- breaker that was not closed, so a runner whose claim came just before the cool-down ended
-- slept its floor instead of being woken to claim. "Woken": next_message_due clears the
-- waiting flag it set (hookline._wake notifies the caller at commit). It reads the clock for
-- what is claimable, so the times here are the clock's.
begin;
select plan(13);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 50);
select hookline.send_message('wa', '+1650555' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "x"}}', 'k' || i,
  now => pg_catalog.clock_timestamp() - interval '10 minutes')
from generate_series(1, 5) i;
insert into hookline.circuit_breakers (target, state, window_started_at, changed_at, open_until, cooldown, probes)
values ('sender:1065', 'open', now(), now(), pg_catalog.clock_timestamp() + interval '1 hour', interval '30 seconds', 2);

create function pg_temp.woken() returns boolean language sql as $$
  select not is_waiting from hookline.runner_waits where channel = 'hookline_outbox'
$$;
create function pg_temp.wait_again() returns void language sql as $$
  update hookline.runner_waits set is_waiting = false where channel = 'hookline_outbox'
$$;

select is(hookline.next_message_due(), (select open_until from hookline.circuit_breakers),
  'cooling down: due when the cool-down ends');
select ok(not pg_temp.woken(), 'and the caller is not woken: nothing is claimable');

update hookline.circuit_breakers set open_until = pg_catalog.clock_timestamp() - interval '1 second';
select pg_temp.wait_again();
select ok(hookline.next_message_due() <= pg_catalog.clock_timestamp(), 'its cool-down over: due now');
select ok(pg_temp.woken(), 'and the caller is woken at once, not after its floor');
select is((select count(*)::int from hookline.claim_messages('r1', 10, '30 seconds', pg_catalog.clock_timestamp())), 2,
  'as claim_messages agrees: it turns the breaker half-open and leases its probes');
select is((select state from hookline.circuit_breakers), 'half_open', 'half-open now');

-- Its probes in flight: no room, whatever the state says.
select pg_temp.wait_again();
select hookline.next_message_due();
select ok(not pg_temp.woken(), 'half-open with its probes in flight: not woken');
-- One probe back in the queue (its lease released): a free probe.
update hookline.outbox set state = 'queued', lease_token = null, runner = null, next_attempt_at = pg_catalog.clock_timestamp() - interval '1 minute'
where message_id = (select min(message_id) from hookline.outbox where state = 'sending');
select pg_temp.wait_again();
select hookline.next_message_due();
select ok(pg_temp.woken(), 'half-open with a free probe: woken');
update hookline.outbox set state = 'sending', lease_token = gen_random_uuid(), runner = 'r1',
  next_attempt_at = pg_catalog.clock_timestamp() + interval '30 seconds'
where message_id = (select min(message_id) from hookline.outbox where state = 'queued');
update hookline.circuit_breakers set state = 'open', open_until = pg_catalog.clock_timestamp() - interval '1 second';
select pg_temp.wait_again();
select hookline.next_message_due();
select ok(not pg_temp.woken(), 'open past its cool-down with its probes in flight: not woken');
select is((select count(*)::int from hookline.claim_messages('r2', 10, '30 seconds', pg_catalog.clock_timestamp())), 0,
  'as claim_messages agrees');

-- Closed: as before, due now and woken.
update hookline.circuit_breakers set state = 'closed', open_until = null, cooldown = null;
select pg_temp.wait_again();
select ok(hookline.next_message_due() <= pg_catalog.clock_timestamp() and pg_temp.woken(),
  'closed: due now and the caller is woken');

-- Forced open: never due, never claimable.
update hookline.outbox set state = 'queued', lease_token = null, runner = null, next_attempt_at = pg_catalog.clock_timestamp() - interval '1 minute'
where state = 'sending';
update hookline.circuit_breakers set state = 'open', is_forced = true, open_until = pg_catalog.clock_timestamp() - interval '1 second',
  cooldown = interval '30 seconds';
select pg_temp.wait_again();
select ok(hookline.next_message_due() is null and not pg_temp.woken(), 'forced open: nothing is due and the caller is not woken');
select is((select count(*)::int from hookline.claim_messages('r3', 10, '30 seconds', pg_catalog.clock_timestamp())), 0,
  'as claim_messages agrees');

select * from finish();
rollback;
