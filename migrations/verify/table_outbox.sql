-- Verify hookline:table_outbox from pg

BEGIN;

select message_id, source_id, next_attempt_at, last_claimed_at, created_at, sent_at, delivered_at, read_at,
  finished_at, lease_token, attempt_count, throttle_count, last_error_code, state, phone_number_id,
  tenant_id, idempotency_key, recipient, runner, wamid, last_error, message
from hookline.outbox where false;

ROLLBACK;
