-- Revert hookline:table_jobs from pg

BEGIN;

drop table hookline.job_runs;
drop table hookline.jobs;

COMMIT;
