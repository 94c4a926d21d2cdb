-- Deploy hookline:cron_jobs_by_database to pg
-- requires: cron_jobs
-- requires: cron_delivery_jobs
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- pg_cron keys a job by (jobname, username): two databases that both named their jobs
-- hookline-<job> shared one row, and the second registration changed the first database's
-- schedule. From here on a job run in another database than pg_cron's own is named
-- hookline-<database>-<job>; in pg_cron's database the name stays hookline-<job> (what
-- cron_jobs registered; no other database can take it, a job name has no hyphen). This
-- function alone makes the name: the trigger below and `hookline cron register` call it.
create function hookline._cron_job_name(job_name text)
returns text
language sql
stable
set search_path = ''
as $$
  -- The extension exists only in pg_cron's database (cron.database_name, which only a
  -- superuser may read).
  select case
    when pg_catalog.to_regnamespace('cron') is not null then 'hookline-' || job_name
    else 'hookline-' || pg_catalog.current_database() || '-' || job_name
  end
$$;

revoke all on function hookline._cron_job_name(text) from public;
grant execute on function hookline._cron_job_name(text)
  to hookline_runner, hookline_operator, hookline_readonly;
comment on function hookline._cron_job_name(text) is
  'Migration-owned. The pg_cron job name of a hookline job of this database: hookline-<job_name> in pg_cron''s own database, hookline-<database>-<job_name> elsewhere. Errors: none of its own.';

-- now() is stable, so PostgreSQL evaluates the default once and does not rewrite the table
-- (a few rows, one per job).
-- squawk-ignore adding-field-with-default
alter table hookline.jobs add column scheduled_since timestamptz not null default pg_catalog.now();
comment on column hookline.jobs.scheduled_since is
  'When the job got its current schedule or runner (pg_cron or runner); hookline.stale_jobs() measures from here while the job has not succeeded since.';

-- When pg_cron lives in this database the registration follows runs_in: a job is scheduled
-- when added (and given to pg_cron), rescheduled when its schedule changes while pg_cron runs
-- it, unscheduled when it is handed back to the runners or removed. A job handed back stays
-- with the runners across schedule changes (the old trigger took it back at once).
create or replace function hookline._sync_pg_cron()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT'
     or (tg_op = 'UPDATE' and (new.schedule, new.runs_in) is distinct from (old.schedule, old.runs_in)) then
    new.scheduled_since := pg_catalog.now();
  end if;
  if pg_catalog.to_regnamespace('cron') is null then
    return coalesce(new, old);
  end if;
  if tg_op in ('UPDATE', 'DELETE') and (tg_op = 'DELETE' or new.runs_in = 'runner' or new.job_name <> old.job_name) then
    perform cron.unschedule(j.jobid) from cron.job j
    where j.jobname = hookline._cron_job_name(old.job_name) and j.database = pg_catalog.current_database();
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  if tg_op = 'INSERT' then
    new.runs_in := 'pg_cron';
  end if;
  if new.runs_in = 'pg_cron' then
    perform cron.schedule(
      hookline._cron_job_name(new.job_name), new.schedule,
      pg_catalog.format('select hookline.run_job(%L)', new.job_name)
    );
  end if;
  return new;
end
$$;

comment on function hookline._sync_pg_cron() is
  'Migration-owned. Trigger of hookline.jobs: keeps pg_cron''s copy of each job (hookline-<database>-<job_name>) in step with the job''s schedule and runs_in when pg_cron is installed in this database, and stamps scheduled_since. Errors: none of its own.';

drop trigger _100_sync_pg_cron on hookline.jobs;
create trigger _100_sync_pg_cron
before insert or update of job_name, schedule, runs_in or delete on hookline.jobs
for each row execute function hookline._sync_pg_cron();

insert into hookline.schema_changes (change) values ('cron_jobs_by_database');

COMMIT;
