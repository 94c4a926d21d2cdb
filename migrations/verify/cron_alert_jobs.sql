-- Verify hookline:cron_alert_jobs from pg

BEGIN;

do $$
begin
  if not exists (select from hookline.jobs where job_name = 'evaluate_alerts') then
    raise exception 'the evaluate_alerts job is missing from hookline.jobs';
  end if;
end
$$;

ROLLBACK;
