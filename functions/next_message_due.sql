create or replace function hookline.next_message_due(now timestamptz default pg_catalog.now())
returns timestamptz
language plpgsql
set search_path = ''
security definer
as $$
declare
  v_registered boolean;
  v_due timestamptz;
  v_claimable boolean;
begin
  -- The caller found no message to send and is about to sleep: ask writers to wake it
  -- (hookline._wake on hookline_outbox). Null: a writer's transaction (a handler's, which may
  -- be long) kept it from registering; "due now" makes it look again after its short floor.
  v_registered := hookline._register_wait('hookline_outbox');
  if v_registered is null then
    return next_message_due.now;
  end if;

  select pg_catalog.min(x.due),
    -- Due now at a sender with room: a message a writer committed while the caller was saying
    -- it waits (that writer read the flag before it was set). On the clock, not at now: that
    -- writer's transaction may have begun after this one. A half-open breaker's probes are
    -- not counted here: such a sender's due time wakes the caller after its floor.
    pg_catalog.bool_or(x.due <= greatest(next_message_due.now, pg_catalog.clock_timestamp()) and x.breaker is null)
  into v_due, v_claimable
  from (
    select greatest(
        m.next_attempt_at,
        s.throttled_until,
        case when b.state = 'open' then b.open_until end,
        w.last_claimed_at + interval '1 second'
      ) as due,
      case when b.state <> 'closed' then b.state end as breaker
    from hookline.senders s
    cross join lateral (
      select o.next_attempt_at
      from hookline.outbox o
      where o.phone_number_id = s.phone_number_id and o.next_attempt_at is not null
      order by o.next_attempt_at
      limit 1
    ) m
    -- A full last second: the number's limit-th most recent claim must leave it first.
    left join lateral (
      select o.last_claimed_at
      from hookline.outbox o
      where o.phone_number_id = s.phone_number_id
        and o.last_claimed_at > next_message_due.now - interval '1 second'
      order by o.last_claimed_at desc
      offset coalesce(s.throttled_rate, s.messages_per_second) - 1
      limit 1
    ) w on true
    left join hookline.circuit_breakers b on b.target = 'sender:' || s.phone_number_id
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
  'What an outbound runner calls when it found no message to send, before it sleeps: registers it as waiting (the next writer with a message notifies channel hookline_outbox, once) and returns when the next outbox message of an active sender may become claimable: its retry time or lease expiry, pushed back by the sender''s throttle, an open breaker''s cool-down and a full last second of claims; null when nothing is queued. May be in the past (e.g. a message held back by the pair limit, or now when a writer''s open transaction kept it from registering). Errors: none.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.next_message_due(timestamp with time zone) from public;
grant execute on function hookline.next_message_due(timestamp with time zone) to hookline_runner;
