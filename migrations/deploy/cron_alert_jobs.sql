-- Deploy hookline:cron_alert_jobs to pg
-- requires: table_alerts
-- requires: table_jobs
-- requires: cron_jobs
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Registered with pg_cron by the trigger of cron_jobs when pg_cron lives in this database.
insert into hookline.jobs (job_name, schedule, description) values
  ('evaluate_alerts', '* * * * *', 'Compare the gauges with hookline.alert_rules; raise and resolve alerts and send them to the alert receivers.');

insert into hookline.schema_changes (change) values ('cron_alert_jobs');

COMMIT;
