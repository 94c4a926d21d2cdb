create or replace function hookline.job_status()
returns table (
  job_name text,
  schedule text,
  runs_in text,
  is_enabled boolean,
  description text,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_status text,
  last_message text
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
  return query
    select j.job_name, j.schedule, j.runs_in, j.is_enabled, j.description,
      r.started_at, r.finished_at, r.status,
      -- A run's message counts rows of every tenant (leases rescued, rows dropped): only callers
      -- who see every tenant read it.
      case when hookline._sees_all_tenants() then r.message end
    from hookline.jobs j
    left join lateral (
      select r.started_at, r.finished_at, r.status, r.message
      from hookline.job_runs r
      where r.job_name = j.job_name
      order by r.started_at desc
      limit 1
    ) r on true
    order by j.job_name;
end
$$;

comment on function hookline.job_status() is
  'Every job with its schedule, who runs it (pg_cron or runner), and its last run; the last run''s message (totals over every tenant) only for callers who see every tenant (owners, runners). Errors: none of its own.';

-- SECURITY DEFINER: runners read the schedules and operators the job runs without table privileges; the messages (cross-tenant totals) only to callers who see every tenant.
revoke all on function hookline.job_status() from public;
grant execute on function hookline.job_status() to hookline_runner, hookline_operator, hookline_readonly;
