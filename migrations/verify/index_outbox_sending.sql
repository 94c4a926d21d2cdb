-- Verify hookline:index_outbox_sending from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'outbox_sending_idx'
  and indexdef like '%WHERE (state = ''sending''::hookline.outbox_state)%';

ROLLBACK;
