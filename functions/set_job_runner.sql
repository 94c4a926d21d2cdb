create or replace function hookline.set_job_runner(job_name text, runs_in text)
returns hookline.jobs
language plpgsql
set search_path = ''
as $$
declare
  v_job hookline.jobs;
begin
  if set_job_runner.runs_in is null or set_job_runner.runs_in not in ('pg_cron', 'runner') then
    raise exception using
      errcode = 'HL102',
      message = format('invalid job runner %L', set_job_runner.runs_in),
      hint = 'A job runs in pg_cron or runner.';
  end if;
  update hookline.jobs j set runs_in = set_job_runner.runs_in
  where j.job_name = set_job_runner.job_name
  returning j.* into v_job;
  if not found then
    raise exception using
      errcode = 'HL100',
      message = format('unknown job %L', set_job_runner.job_name),
      hint = 'hookline cron list shows the jobs.';
  end if;
  return v_job;
end
$$;

comment on function hookline.set_job_runner(text, text) is
  'Records who triggers a job: pg_cron (after hookline cron register) or runner (the runners evaluate its schedule). Errors: HL100 unknown job; HL102 invalid runner.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.set_job_runner(text,text) from public;
