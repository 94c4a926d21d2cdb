-- Verify hookline:view_outbound_operator from pg

BEGIN;

select target, kind, name, tenant_id, state, is_forced, open_until, consecutive_failures,
  window_requests, window_failures, changed_at, reason
from hookline.circuit_states where false;
select message_id, tenant_id, phone_number_id, state, recipient, attempt_count, throttle_count,
  last_error_code, last_error, created_at, next_attempt_at, sent_at, delivered_at, read_at, finished_at
from hookline.outbox_messages where false;

do $$
begin
  if not pg_catalog.has_table_privilege('hookline_operator', 'hookline.circuit_states', 'select')
     or pg_catalog.has_table_privilege('hookline_operator', 'hookline.outbox_messages', 'insert')
     or pg_catalog.has_table_privilege('hookline_ingest', 'hookline.outbox_messages', 'select') then
    raise exception 'the outbound operator views have the wrong privileges';
  end if;
end
$$;

ROLLBACK;
