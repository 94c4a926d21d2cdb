-- Revert hookline:cron_prune_dead_letters from pg

BEGIN;

delete from hookline.jobs where job_name = 'prune_dead_letters';

COMMIT;
