create or replace function hookline.run_job(
  job_name text,
  scheduled_for timestamptz default pg_catalog.date_trunc('minute', pg_catalog.now()),
  run_by text default 'pg_cron'
)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_started timestamptz := pg_catalog.clock_timestamp();
  v_run_id bigint;
  v_status text;
  v_message text;
begin
  if not exists (select from hookline.jobs j where j.job_name = run_job.job_name) then
    raise exception using
      errcode = 'HL100',
      message = format('unknown job %L', run_job.job_name),
      hint = 'hookline cron list shows the jobs.';
  end if;

  -- Claim the slot: a second caller for the same slot (another runner, or pg_cron and a
  -- runner) waits here until this run commits, then finds the slot taken and skips.
  insert into hookline.job_runs as r (job_name, scheduled_for, started_at, finished_at, status, run_by)
  values (run_job.job_name, run_job.scheduled_for, v_started, v_started, 'succeeded', run_job.run_by)
  on conflict on constraint job_runs_one_run_per_slot do nothing
  returning r.run_id into v_run_id;
  if v_run_id is null then
    return 'skipped';
  end if;

  begin
    execute format('select hookline.%I()', run_job.job_name) into v_message;
    v_status := 'succeeded';
  exception when others then
    -- The job's own work is rolled back; its failure is recorded and the caller goes on.
    v_status := 'failed';
    v_message := sqlstate || ': ' || sqlerrm;
  end;

  update hookline.job_runs r
  set finished_at = pg_catalog.clock_timestamp(), status = v_status, message = v_message
  where r.run_id = v_run_id;
  return v_status;
end
$$;

comment on function hookline.run_job(text, timestamptz, text) is
  'Runs the job hookline.<job_name>() once for a schedule slot and records the run in hookline.job_runs. Returns succeeded, failed (the job''s work is rolled back, the error recorded) or skipped (the slot already ran or is running elsewhere). pg_cron calls it with the defaults; runners pass the slot and their id. Errors: HL100 unknown job.';

-- SECURITY DEFINER: runners fire scheduled jobs without table privileges; the jobs run as the owner.
revoke all on function hookline.run_job(text,timestamp with time zone,text) from public;
grant execute on function hookline.run_job(text,timestamp with time zone,text) to hookline_runner;
