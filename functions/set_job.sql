create or replace function hookline.set_job(
  job_name text,
  schedule text default null,
  runs_in text default null
)
returns hookline.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job hookline.jobs;
begin
  if set_job.schedule is not null and set_job.schedule !~ '^\S+( \S+){4}$' then
    raise exception using
      errcode = 'HL101',
      message = format('invalid cron schedule %L', set_job.schedule),
      hint = 'Five fields: minute hour day-of-month month day-of-week, e.g. */15 * * * *.';
  end if;
  if set_job.runs_in is not null and set_job.runs_in not in ('pg_cron', 'runner') then
    raise exception using
      errcode = 'HL102',
      message = format('invalid job runner %L', set_job.runs_in),
      hint = 'A job runs in pg_cron or runner.';
  end if;
  update hookline.jobs j
  set schedule = coalesce(set_job.schedule, j.schedule), runs_in = coalesce(set_job.runs_in, j.runs_in)
  where j.job_name = set_job.job_name
  returning j.* into v_job;
  if not found then
    raise exception using
      errcode = 'HL100',
      message = format('unknown job %L', set_job.job_name),
      hint = 'hookline cron list shows the jobs.';
  end if;
  return v_job;
end
$$;

comment on function hookline.set_job(text, text, text) is
  'Changes a job''s cron schedule (five fields, UTC) and/or who fires it (pg_cron after hookline cron register, or runner); a null argument keeps the current value. When pg_cron runs in this database the trigger _100_sync_pg_cron updates its job (and keeps runs_in = pg_cron); otherwise run hookline cron register again after a schedule change. Errors: HL100 unknown job; HL101 invalid cron schedule (the runners also reject what cronsim cannot parse); HL102 invalid runner.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.set_job(text,text,text) from public;
