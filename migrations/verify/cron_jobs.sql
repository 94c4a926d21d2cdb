-- Verify hookline:cron_jobs from pg

BEGIN;

do $$
begin
  if not exists (
    select from pg_trigger where tgrelid = 'hookline.jobs'::regclass and tgname = '_100_sync_pg_cron'
  ) then
    raise exception 'the trigger that keeps pg_cron in step is missing';
  end if;
  if to_regnamespace('cron') is null then
    return;  -- no pg_cron in this database: the runners run the jobs
  end if;
  if exists (
    select from hookline.jobs h
    where not exists (
      select from cron.job c where c.jobname = 'hookline-' || h.job_name and c.database = current_database()
    )
  ) then
    raise exception 'a hookline job is not registered with pg_cron';
  end if;
end
$$;

ROLLBACK;
