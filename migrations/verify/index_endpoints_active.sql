-- Verify hookline:index_endpoints_active from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'endpoints_active_idx'
  and indexdef like '%WHERE (state = ''active''::text)%';

ROLLBACK;
