-- Revert hookline:cron_jobs_by_database from pg

BEGIN;

set local lock_timeout = '5s';

drop trigger _100_sync_pg_cron on hookline.jobs;

create or replace function hookline._sync_pg_cron()
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

comment on function hookline._sync_pg_cron() is
  'Migration-owned. Trigger of hookline.jobs: keeps pg_cron''s copy of each job (hookline-<job_name>) in step when pg_cron is installed in this database. Errors: none of its own.';

create trigger _100_sync_pg_cron
before insert or update of job_name, schedule or delete on hookline.jobs
for each row execute function hookline._sync_pg_cron();

-- As cron_jobs left it: every job registered (in pg_cron's database) and pg_cron's.
update hookline.jobs set schedule = schedule;

alter table hookline.jobs drop column scheduled_since;
drop function hookline._cron_job_name(text);

delete from hookline.schema_changes where change = 'cron_jobs_by_database';

COMMIT;
