-- Revert hookline:table_runner_waits from pg

BEGIN;

set local lock_timeout = '5s';

drop table hookline.runner_waits;

delete from hookline.schema_changes where change = 'table_runner_waits';

COMMIT;
