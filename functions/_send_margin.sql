-- The send margin m: how long after its claim a runner may still start a message's POST
-- (docs/outbound.md, "Limits and how to tune them"). claim_messages returns it with each message
-- (send_within_ms) and counts a number's claims in the window (now - 1 s - m, now]
-- (hookline._sender_window), so the POSTs started in any sliding second come from claims within
-- 1 s + m of one another and are at most the number's limit; a runner gives back unsent (through
-- release_messages) what it could not start in time. Plain SQL, no SET clause, declared
-- stable, not immutable: the planner inlines its body, a constant, into the caller's statement.
-- An immutable function of constant arguments is run by the planner instead (to fold it), and
-- that ran this body as a statement of its own, planned again on every plan of the caller
-- (tests/integration/test_plan_cache.py).
create or replace function hookline._send_margin()
returns interval
language sql
stable
as $$
  select interval '250 milliseconds'
$$;

comment on function hookline._send_margin() is
  'Inlinable (no SET clause), private: the send margin m, 250 ms. A message claimed at t may be started until t + m (claim_messages'' send_within_ms); a number''s claims are counted in the window (now - 1 s - m, now] (hookline._sender_window) and a retry waits until its last claim has left it (hookline._message_outcome). At saturation a number sends messages_per_second / (1 + m) a second. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._send_margin() from public;
