-- Revert hookline:cron_jobs from pg

BEGIN;

drop trigger _100_sync_pg_cron on hookline.jobs;
drop function hookline._sync_pg_cron();

do $$
begin
  if to_regnamespace('cron') is not null then
    perform cron.unschedule(j.jobid) from cron.job j
    where j.jobname like 'hookline-%' and j.database = current_database();
  end if;
end
$$;
update hookline.jobs set runs_in = 'runner';

COMMIT;
