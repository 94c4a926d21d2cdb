-- Revert hookline:index_audit_log_replays from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.audit_log_replays_idx;

delete from hookline.schema_changes where change = 'index_audit_log_replays';

COMMIT;
