-- Verify hookline:table_dead_letters from pg

BEGIN;

select delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at, last_status_code,
  attempt_count, generation, state, tenant_id, reason
from hookline.dead_letters where false;

ROLLBACK;
