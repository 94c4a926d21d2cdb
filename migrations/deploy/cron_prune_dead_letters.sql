-- Deploy hookline:cron_prune_dead_letters to pg
-- requires: table_jobs
-- requires: cron_jobs_by_database
-- requires: table_tenants_dead_letter_retention
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Twenty minutes before apply_retention (37 * * * *), so the days the pruned dead letters
-- held are dropped in the same hour. Registered with pg_cron by the trigger when pg_cron lives
-- in this database.
insert into hookline.jobs (job_name, schedule, description) values
  ('prune_dead_letters', '17 * * * *', 'Delete dead letters that ended longer ago than their tenant''s dead_letter_retention (at most 50,000 a run).');

insert into hookline.schema_changes (change) values ('cron_prune_dead_letters');

COMMIT;
