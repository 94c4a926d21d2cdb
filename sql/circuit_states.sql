-- Purpose: every circuit breaker that is not closed (or is forced): endpoints and sending
--          numbers of the caller's tenants, with why and until when.
-- Variables: none.
-- Example: psql "$HOOKLINE_DSN" -f sql/circuit_states.sql
select kind, name, tenant_id, state, is_forced, open_until, consecutive_failures,
  window_requests, window_failures, changed_at, reason
from hookline.circuit_states
where state <> 'closed' or is_forced
order by changed_at desc;
