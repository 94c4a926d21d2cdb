-- Verify hookline:table_senders from pg

BEGIN;

select phone_number_id, source_id, tenant_id, access_token, messages_per_second, pair_interval, pair_burst,
  unconfirmed_wait, timeout_ms, retry_schedule, state, paused_reason, throttled_until, throttled_rate,
  window_started_at, window_count, created_at, updated_at
from hookline.senders where false;

ROLLBACK;
