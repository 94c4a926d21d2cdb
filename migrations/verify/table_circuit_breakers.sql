-- Verify hookline:table_circuit_breakers from pg

BEGIN;

select target, state, is_forced, window_started_at, window_requests, window_failures, consecutive_failures,
  half_open_successes, open_until, cooldown, failure_rate, min_requests, window_length,
  max_consecutive_failures, base_cooldown, max_cooldown, probes, changed_at, reason
from hookline.circuit_breakers where false;
select transition_id, target, happened_at, from_state, to_state, actor, reason
from hookline.breaker_transitions where false;

ROLLBACK;
