-- Revert hookline:cron_alert_jobs from pg

BEGIN;

set local lock_timeout = '5s';

delete from hookline.jobs where job_name = 'evaluate_alerts';

delete from hookline.schema_changes where change = 'cron_alert_jobs';

COMMIT;
