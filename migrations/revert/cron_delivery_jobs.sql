-- Revert hookline:cron_delivery_jobs from pg

BEGIN;

delete from hookline.jobs where job_name in ('rescue_leases', 'wake_due_retries', 'snapshot_stats');

COMMIT;
