-- Verify hookline:cron_jobs_by_database from pg

BEGIN;

select scheduled_since from hookline.jobs where false;

do $$
begin
  if to_regnamespace('cron') is null then
    return;  -- no pg_cron in this database: the runners run the jobs, or cron register does
  end if;
  if exists (
    select from hookline.jobs h
    where h.runs_in = 'pg_cron' and not exists (
      select from cron.job c
      where c.jobname = hookline._cron_job_name(h.job_name) and c.database = current_database()
    )
  ) then
    raise exception 'a hookline job that pg_cron runs is not registered with pg_cron';
  end if;
end
$$;

ROLLBACK;
