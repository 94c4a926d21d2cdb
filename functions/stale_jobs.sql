create or replace function hookline.stale_jobs(now timestamptz default pg_catalog.now())
returns table (
  job_name text,
  runs_in text,
  schedule text,
  expected_every interval,
  last_succeeded_at timestamptz,
  stale_since timestamptz
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  -- PL/pgSQL, not SQL: PostgreSQL 15 plans the body of a SQL function that is not inlined
  -- (set search_path, security definer) on every call; PL/pgSQL keeps its plan per session
  -- (docs/performance.md, "Plans that stay good").
  -- A scheduled run (pg_cron's or a runner's; not `hookline cron run`) must have
  -- succeeded within twice the schedule's longest gap, counted from the later of the last
  -- success and the moment the job got its schedule or runner.
  return query
    select j.job_name, j.runs_in, j.schedule, s.every, r.started_at,
      greatest(r.started_at, j.scheduled_since) + 2 * s.every
    from hookline.jobs j
    cross join lateral (
      select coalesce(hookline._schedule_interval(j.schedule), interval '1 day') as every
    ) s
    left join lateral (
      select r.started_at
      from hookline.job_runs r
      where r.job_name = j.job_name and r.status = 'succeeded' and r.run_by <> 'cli'
      order by r.started_at desc
      limit 1
    ) r on true
    where j.is_enabled
      and greatest(r.started_at, j.scheduled_since) + 2 * s.every < stale_jobs.now
    order by j.job_name;
end
$$;

comment on function hookline.stale_jobs(timestamptz) is
  'The enabled jobs whose scheduled runs have not succeeded within twice their schedule''s interval (counted from their last success, or from when they got their schedule or runner): pg_cron cannot reach the database, no runner is up, or the job fails every time. Read by hookline stats and metrics. Errors: none of its own.';

-- SECURITY DEFINER: operators, read-only roles and runners (metrics) read job health without table privileges; no tenant data.
revoke all on function hookline.stale_jobs(timestamp with time zone) from public;
grant execute on function hookline.stale_jobs(timestamp with time zone)
  to hookline_runner, hookline_operator, hookline_readonly;
