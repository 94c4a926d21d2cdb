-- Deploy hookline:cron_jobs to pg
-- requires: table_jobs

BEGIN;

-- pg_cron can only be installed in the database named by cron.database_name. When that is
-- this database, every job of hookline.jobs is kept registered with it: this trigger schedules
-- a job when it is added or its schedule changes (cron.schedule is idempotent by job name),
-- unschedules it when it is removed, and marks it as pg_cron's. Elsewhere the trigger does
-- nothing: the runners run the jobs, or `hookline cron register` (which connects to the
-- pg_cron database) hands them to pg_cron with cron.schedule_in_database.
create function hookline._sync_pg_cron()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if pg_catalog.to_regnamespace('cron') is null then
    return coalesce(new, old);
  end if;
  if tg_op = 'DELETE' then
    perform cron.unschedule(j.jobid) from cron.job j
    where j.jobname = 'hookline-' || old.job_name and j.database = pg_catalog.current_database();
    return old;
  end if;
  perform cron.schedule(
    'hookline-' || new.job_name, new.schedule, pg_catalog.format('select hookline.run_job(%L)', new.job_name)
  );
  new.runs_in := 'pg_cron';
  return new;
end
$$;

revoke all on function hookline._sync_pg_cron() from public;
comment on function hookline._sync_pg_cron() is
  'Migration-owned. Trigger of hookline.jobs: keeps pg_cron''s copy of each job (hookline-<job_name>) in step when pg_cron is installed in this database. Errors: none of its own.';

create trigger _100_sync_pg_cron
before insert or update of job_name, schedule or delete on hookline.jobs
for each row execute function hookline._sync_pg_cron();

-- Register the jobs that exist already.
update hookline.jobs set schedule = schedule;

COMMIT;
