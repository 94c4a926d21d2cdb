-- Revert hookline:table_dlq_replay_counts from pg

BEGIN;

set local lock_timeout = '5s';

drop trigger _600_count_replays on hookline.audit_log;
drop function hookline._count_replays();
drop table hookline.dlq_replay_counts;

delete from hookline.schema_changes where change = 'table_dlq_replay_counts';

COMMIT;
