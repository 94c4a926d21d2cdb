-- Revert hookline:cron_alert_jobs from pg

BEGIN;

delete from hookline.jobs where job_name = 'evaluate_alerts';

COMMIT;
