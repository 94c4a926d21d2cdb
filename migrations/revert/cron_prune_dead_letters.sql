-- Revert hookline:cron_prune_dead_letters from pg

BEGIN;

set local lock_timeout = '5s';

delete from hookline.jobs where job_name = 'prune_dead_letters';

delete from hookline.schema_changes where change = 'cron_prune_dead_letters';

COMMIT;
