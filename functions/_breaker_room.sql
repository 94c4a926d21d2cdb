create or replace function hookline._breaker_room(target text, now timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
  v_limit integer;
begin
  -- The room rule is hookline._breaker_limit's (next_due, next_message_due and claim's crowded
  -- step read it too); this adds the one change a claim makes: an open breaker whose cool-down
  -- is over becomes half-open, under its lock, guarded so that two claims make one transition.
  -- The lock is the caller's order to keep: claim calls this only for the breakers its step 2
  -- locked (docs/delivery.md, "Lock order"), claim_messages with its sender locked. Skip
  -- locked: a breaker another transaction holds (out of that order: an operator's statement)
  -- gives this claim no room, instead of a wait that would hold the claim's earlier rows (a
  -- message's send margin runs from its claim); the next claim makes the transition.
  select b.* into v_b from hookline.circuit_breakers b where b.target = _breaker_room.target;
  v_limit := hookline._breaker_limit(v_b.state, v_b.is_forced, v_b.open_until, v_b.probes, _breaker_room.now);
  if v_b.state = 'open' and v_limit > 0 then
    select b.* into v_b from hookline.circuit_breakers b where b.target = _breaker_room.target
    for update skip locked;
    if not found then
      return 0;
    end if;
    if v_b.state = 'open' and not v_b.is_forced and v_b.open_until <= _breaker_room.now then
      perform hookline._breaker_transition(_breaker_room.target, 'half_open', 'cool-down over: probing', 'hookline', _breaker_room.now);
      return v_b.probes;
    end if;
    v_limit := hookline._breaker_limit(v_b.state, v_b.is_forced, v_b.open_until, v_b.probes, _breaker_room.now);
  end if;
  return v_limit;
end
$$;

comment on function hookline._breaker_room(text, timestamptz) is
  'Private, for claims. How many requests of a target may be in flight: null (no limit: closed or no breaker), 0 (open, or forced open), or the probe count (half-open; the caller subtracts its in-flight requests). An open breaker whose cool-down is over becomes half-open here. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_room(text,timestamp with time zone) from public;
