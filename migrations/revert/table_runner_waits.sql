-- Revert hookline:table_runner_waits from pg

BEGIN;

drop table hookline.runner_waits;

COMMIT;
