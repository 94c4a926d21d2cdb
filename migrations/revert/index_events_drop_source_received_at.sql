-- Revert hookline:index_events_drop_source_received_at from pg

BEGIN;

set local lock_timeout = '5s';

-- The index as table_events made it (a plain build: it reads every partition once).
create index events_source_id_received_at_idx on hookline.events (source_id, received_at);

delete from hookline.schema_changes where change = 'index_events_drop_source_received_at';

COMMIT;
