-- Verify hookline:table_jobs from pg

BEGIN;

select job_name, schedule, description, runs_in, is_enabled from hookline.jobs where false;
select run_id, job_name, scheduled_for, started_at, finished_at, status, message, run_by
from hookline.job_runs where false;

ROLLBACK;
