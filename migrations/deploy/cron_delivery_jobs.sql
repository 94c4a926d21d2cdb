-- Deploy hookline:cron_delivery_jobs to pg
-- requires: table_jobs
-- requires: cron_jobs
-- requires: table_stats_snapshots
-- requires: table_deliveries

BEGIN;

-- Registered with pg_cron by the trigger of cron_jobs when pg_cron lives in this database.
insert into hookline.jobs (job_name, schedule, description) values
  ('rescue_leases', '* * * * *', 'Return deliveries whose runner lease expired to retrying, and wake the runners.'),
  ('wake_due_retries', '* * * * *', 'Wake the runners when deliveries are due (a backstop: runners also wake for the next due retry themselves).'),
  ('snapshot_stats', '* * * * *', 'Write one row per endpoint of queue depth, oldest due age and the last minute''s attempts to hookline.stats_snapshots.');

COMMIT;
