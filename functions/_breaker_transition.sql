create or replace function hookline._breaker_transition(
  target text,
  to_state text,
  reason text,
  actor text,
  now timestamptz
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
begin
  -- The caller holds the row lock. Opening sets the open period: the current cooldown (doubled
  -- by the caller when a probe failed); closing starts a fresh window.
  select b.* into strict v_b from hookline.circuit_breakers b where b.target = _breaker_transition.target;
  update hookline.circuit_breakers b
  set state = _breaker_transition.to_state,
    open_until = case when _breaker_transition.to_state = 'open'
                      then _breaker_transition.now + coalesce(b.cooldown, b.base_cooldown) end,
    cooldown = case when _breaker_transition.to_state = 'closed' then null
                    else coalesce(b.cooldown, b.base_cooldown) end,
    window_started_at = _breaker_transition.now,
    window_requests = 0,
    window_failures = 0,
    -- Closed and half-open count failures in a row afresh; opening keeps the streak for the record.
    consecutive_failures = case when _breaker_transition.to_state = 'open' then b.consecutive_failures else 0 end,
    half_open_successes = 0,
    changed_at = _breaker_transition.now,
    reason = _breaker_transition.reason
  where b.target = _breaker_transition.target;
  insert into hookline.breaker_transitions (target, happened_at, from_state, to_state, actor, reason)
  values (_breaker_transition.target, _breaker_transition.now, v_b.state, _breaker_transition.to_state,
    _breaker_transition.actor, _breaker_transition.reason);
end
$$;

comment on function hookline._breaker_transition(text, text, text, text, timestamptz) is
  'Private. Moves a locked breaker to a state (open: for its current cooldown; closed: counts and cooldown reset), records the transition with its actor and reason. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_transition(text,text,text,text,timestamp with time zone) from public;
