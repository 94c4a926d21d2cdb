-- Revert hookline:index_endpoints_active from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.endpoints_active_idx;

delete from hookline.schema_changes where change = 'index_endpoints_active';

COMMIT;
