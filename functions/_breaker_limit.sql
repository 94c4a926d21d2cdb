-- The room rule of a breaker, one definition for claim (its crowded step, and its step 4,
-- through hookline._breaker_room for the breakers its step 2 locked), claim_messages (through
-- hookline._breaker_room), next_due and next_message_due: how many requests of a target may
-- be in flight by its breaker's fields at now. Plain SQL, no SET clause, a single expression: the
-- planner inlines it into their statements (a SET clause would forbid that, and a call per
-- endpoint would cost next_due's read of every active endpoint). What stays with each caller:
-- how it counts the leases it subtracts (claim under the endpoint's lock from its lease
-- cursor, its crowded step and the next_* reads unlocked), and whether it may turn an open
-- breaker half-open (only hookline._breaker_room, under the breaker's lock).
create or replace function hookline._breaker_limit(
  state text,
  is_forced boolean,
  open_until timestamptz,
  probes integer,
  now timestamptz
)
returns integer
language sql
immutable
as $$
  select case
    when _breaker_limit.state is null or _breaker_limit.state = 'closed' then null
    when _breaker_limit.state = 'open' and (_breaker_limit.is_forced or _breaker_limit.open_until > _breaker_limit.now) then 0
    else _breaker_limit.probes
  end
$$;

comment on function hookline._breaker_limit(text, boolean, timestamptz, integer, timestamptz) is
  'Inlinable (no SET clause), private, for claim, claim_messages (through _breaker_room), next_due and next_message_due: how many requests of a target its breaker lets be in flight at now, from the breaker''s state, is_forced, open_until and probes: null (no limit) without a breaker (a null state) or when closed, forced closed included; 0 while open and forced or cooling down; probes while half-open, and while open with its cool-down over (the next claim turns it half-open). Pure. Errors: none of its own.';

revoke all on function hookline._breaker_limit(text, boolean, timestamptz, integer, timestamptz) from public;
