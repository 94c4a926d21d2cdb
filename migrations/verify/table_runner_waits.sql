-- Verify hookline:table_runner_waits from pg

BEGIN;

select channel, is_waiting, changed_at from hookline.runner_waits where false;

ROLLBACK;
