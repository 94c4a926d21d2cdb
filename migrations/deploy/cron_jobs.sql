-- Deploy hookline:cron_jobs to pg
-- requires: table_jobs

BEGIN;

-- pg_cron can only be installed in the database named by cron.database_name. When that is
-- this database, register every job with it (idempotent by job name) and mark it as pg_cron's.
-- Otherwise the jobs stay with the runners, and `hookline cron register` (which connects to
-- the pg_cron database) can hand them to pg_cron with cron.schedule_in_database.
do $$
declare
  v_job record;
begin
  if to_regnamespace('cron') is null then
    raise notice 'hookline: pg_cron is not installed in this database; the runners will run the jobs';
    return;
  end if;
  for v_job in select j.job_name, j.schedule from hookline.jobs j loop
    perform cron.schedule(
      'hookline-' || v_job.job_name, v_job.schedule, format('select hookline.run_job(%L)', v_job.job_name)
    );
  end loop;
  update hookline.jobs set runs_in = 'pg_cron';
end
$$;

COMMIT;
