-- Verify hookline:table_endpoints from pg

BEGIN;

select endpoint_id, tenant_id, name, url, signing_secret, timeout_ms, max_in_flight, retry_schedule,
  is_retrying_client_errors, state, paused_reason, created_at, updated_at
from hookline.endpoints where false;

ROLLBACK;
