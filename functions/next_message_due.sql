create or replace function hookline.next_message_due(now timestamptz default pg_catalog.now())
returns timestamptz
language plpgsql
set search_path = ''
security definer
-- Index reads by design (the numbers with live messages and their first due times, a skip
-- scan of outbox_due_idx through hookline._live_numbers, each one's sender by key; its claims
-- of the last 1 s + m in outbox_claimed_idx and, for a sender whose breaker limits it, its
-- unexpired leases in outbox_sending_idx, both through hookline._sender_window). A plan made
-- while the statistics said the outbox was empty read those leases with a bitmap scan of the
-- sender's whole due range: no sequential or bitmap scan (as in claim_messages, whose count
-- this is), and no JIT (the cost that enable_seqscan adds to the senders' read would cross
-- jit_above_cost).
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  v_registered boolean;
  v_due timestamptz;
  v_claimable boolean;
  v_now timestamptz;
begin
  -- The caller found no message to send and is about to sleep: ask writers to wake it
  -- (hookline._wake on hookline_outbox). Null: a writer's transaction (a handler's, which may
  -- be long) kept it from registering; "due now" makes it look again after its short floor.
  v_registered := hookline._register_wait('hookline_outbox');
  if v_registered is null then
    return next_message_due.now;
  end if;

  -- Due now at a sender with room: a message a writer committed while the caller was saying it
  -- waits (that writer read the flag before it was set), or one behind a breaker whose
  -- cool-down has ended since the caller's claim. On the clock, not at now: that writer's
  -- transaction may have begun after this one.
  v_now := greatest(next_message_due.now, pg_catalog.clock_timestamp());
  select pg_catalog.min(x.due),
    -- The breaker's room is claim_messages' (hookline._breaker_limit, as hookline._breaker_room
    -- reads it): none while open and cooling down; its probes while half-open and while open
    -- with its cool-down over (the next claim turns it half-open), less the sender's
    -- unexpired leases, as claim_messages counts them. This read only looks: it never changes
    -- a breaker.
    pg_catalog.bool_or(case
      when x.due > v_now then false
      when x.room is null then true
      else (select l.leases from hookline._sender_window(x.phone_number_id, x.rate_limit, v_now) l) < x.room
    end)
  into v_due, v_claimable
  from (
    select s.phone_number_id,
      greatest(
        l.first_due,
        s.throttled_until,
        case when b.state = 'open' then b.open_until end,
        w.room_at
      ) as due,
      hookline._breaker_limit(b.state, b.is_forced, b.open_until, b.probes, v_now) as room,
      coalesce(s.throttled_rate, s.messages_per_second) as rate_limit
    -- The numbers with live messages and their first due times (hookline._live_numbers: idle
    -- ones are not read), each one's sender by key (a LIMIT in a lateral subquery: never a
    -- read of every sender, which a plan made while there were few chose).
    from hookline._live_numbers() l
    cross join lateral (
      select n.*
      from hookline.senders n
      where n.phone_number_id = l.phone_number_id
      limit 1
    ) s
    -- A full send window (claim_messages' rule, hookline._sender_window: the claims of the
    -- last 1 s + m): the number's limit-th most recent claim must leave it first.
    cross join lateral hookline._sender_window(
      s.phone_number_id, coalesce(s.throttled_rate, s.messages_per_second), next_message_due.now) w
    -- Its breaker by key too (a join read every breaker, the hash join of a plan made while
    -- there were few: a row per number and endpoint of the platform, in each wait).
    left join lateral (
      select b.state, b.is_forced, b.open_until, b.probes
      from hookline.circuit_breakers b
      where b.target = 'sender:' || s.phone_number_id
      limit 1
    ) b on true
    where s.state = 'active' and not (b.state = 'open' and b.is_forced) is true
  ) x;
  -- Then the caller is woken at once (its LISTEN connection gets this at commit), not after
  -- the floor it sleeps when a message is due but was not claimable a moment ago.
  if v_registered and v_claimable then
    perform hookline._wake('hookline_outbox');
  end if;
  return v_due;
end
$$;

comment on function hookline.next_message_due(timestamptz) is
  'What an outbound runner calls when it found no message to send, before it sleeps: registers it as waiting (the next writer with a message notifies channel hookline_outbox, once) and returns when the next outbox message of an active sender may become claimable: its retry time or lease expiry, pushed back by the sender''s throttle, an open breaker''s cool-down and a full send window (the claims of the last 1 s + m, hookline._sender_window); null when nothing is queued. When one is claimable already (its breaker''s room counted as claim_messages counts it, hookline._breaker_limit: an open breaker past its cool-down has its probes), it notifies the caller at once. May be in the past (e.g. a message held back by the pair limit, or now when a writer''s open transaction kept it from registering). Errors: none.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.next_message_due(timestamp with time zone) from public;
grant execute on function hookline.next_message_due(timestamp with time zone) to hookline_runner;
