create or replace function hookline.set_job_schedule(job_name text, schedule text)
returns hookline.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job hookline.jobs;
begin
  if set_job_schedule.schedule is null or set_job_schedule.schedule !~ '^\S+( \S+){4}$' then
    raise exception using
      errcode = 'HL101',
      message = format('invalid cron schedule %L', set_job_schedule.schedule),
      hint = 'Five fields: minute hour day-of-month month day-of-week, e.g. */15 * * * *.';
  end if;
  update hookline.jobs j set schedule = set_job_schedule.schedule
  where j.job_name = set_job_schedule.job_name
  returning j.* into v_job;
  if not found then
    raise exception using
      errcode = 'HL100',
      message = format('unknown job %L', set_job_schedule.job_name),
      hint = 'hookline cron list shows the jobs.';
  end if;
  if v_job.runs_in = 'pg_cron' and pg_catalog.to_regnamespace('cron') is not null then
    -- pg_cron lives in this database: keep its copy of the schedule in step.
    perform cron.schedule(
      'hookline-' || v_job.job_name, v_job.schedule, format('select hookline.run_job(%L)', v_job.job_name)
    );
  end if;
  return v_job;
end
$$;

comment on function hookline.set_job_schedule(text, text) is
  'Changes a job''s cron schedule; when pg_cron runs in this database its job is updated too (otherwise run hookline cron register again). Errors: HL100 unknown job; HL101 invalid cron schedule (the runners also reject what cronsim cannot parse).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.set_job_schedule(text,text) from public;
