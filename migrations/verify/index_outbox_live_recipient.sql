-- Verify hookline:index_outbox_live_recipient from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'outbox_live_recipient_idx'
  and indexdef like '%WHERE (next_attempt_at IS NOT NULL)%';

ROLLBACK;
