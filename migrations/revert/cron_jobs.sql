-- Revert hookline:cron_jobs from pg

BEGIN;

do $$
begin
  if to_regnamespace('cron') is not null then
    perform cron.unschedule(j.jobid) from cron.job j
    where j.jobname like 'hookline-%' and j.database = current_database();
  end if;
  update hookline.jobs set runs_in = 'runner';
end
$$;

COMMIT;
