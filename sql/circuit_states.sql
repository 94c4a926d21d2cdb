-- Purpose: every circuit breaker that is not closed (or is forced), with its last transitions,
--          and every paused or throttled sending number: the alert-worthy outbound states.
-- Variables: none.
-- Example: psql "$HOOKLINE_DSN" -f sql/circuit_states.sql
select target, state, is_forced, open_until, window_requests, window_failures, consecutive_failures,
  changed_at, reason
from hookline.list_breakers()
where state <> 'closed' or is_forced;

select phone_number_id, source, state, paused_reason, messages_per_second, throttled_rate,
  throttled_until, queued, breaker
from hookline.list_senders()
where state = 'paused' or throttled_rate is not null or breaker <> 'closed';
