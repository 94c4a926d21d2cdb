-- Verify hookline:cron_delivery_jobs from pg

BEGIN;

do $$
begin
  if (select count(*) from hookline.jobs where job_name in ('rescue_leases', 'wake_due_retries', 'snapshot_stats')) <> 3 then
    raise exception 'a delivery job is missing from hookline.jobs';
  end if;
end
$$;

ROLLBACK;
