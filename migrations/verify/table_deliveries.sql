-- Verify hookline:table_deliveries from pg

BEGIN;

select delivery_id, endpoint_id, event_id, event_received_at, next_attempt_at, created_at, lease_token,
  attempt_count, generation, state, tenant_id, runner
from hookline.deliveries where false;

ROLLBACK;
