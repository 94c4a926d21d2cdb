-- Deploy hookline:index_events_drop_source_received_at to pg
-- requires: table_events
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- No function or documented query reads events by source and time, and the index cost every
-- ingested event an index entry. Worse, it made claim's event lookup depend on statistics:
-- claim reads each claimed row's event by its key (event_id, received_at), and received_at is
-- also this index's second column, so a plan may scan this whole index with received_at as
-- its condition. While a partition's statistics say it is empty (pg_class.reltuples 0 with
-- pages, which an ANALYZE leaves when it runs while the partition's rows are not yet
-- committed) both paths cost the same, and a cached generic plan took this one: every claim
-- read the whole index once per claimed row (123,000 buffers, 280 to 410 ms a claim of 32)
-- until the next analyze. Without it, the key is the only index on events that the lookup can
-- use, whatever the statistics say.
-- why: a partitioned index cannot be dropped concurrently (PostgreSQL refuses DROP INDEX
-- CONCURRENTLY on it); the drop is a catalog change, over in milliseconds once it has its lock
-- squawk-ignore require-concurrent-index-deletion
drop index hookline.events_source_id_received_at_idx;

insert into hookline.schema_changes (change) values ('index_events_drop_source_received_at');

COMMIT;
