create or replace function hookline.metric_gauges(now timestamptz default pg_catalog.now())
returns table (metric text, labels jsonb, value double precision)
language plpgsql
stable
security definer
set search_path = ''
-- Each endpoint's breaker and each receiver's endpoint are probes by key: a plan made while the
-- tables were drained read them sequentially instead, for every endpoint the whole breakers
-- table (30,016,006 rows a scrape beside 3,000 endpoints and 10,000 numbers). So no
-- sequential or bitmap scan where an index serves (the counts by state read every breaker
-- anyway, sequentially), and no JIT (the cost enable_seqscan adds would cross jit_above_cost).
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
begin
  -- PL/pgSQL, not SQL: PostgreSQL 15 plans the body of a SQL function that is not inlined
  -- (set search_path, security definer) on every call; PL/pgSQL keeps its plan per session
  -- (docs/performance.md, "Plans that stay good").
  -- Operators and read-only roles see their tenants' series only: rows without a tenant
  -- (breakers by kind, jobs, alert rules) are totals over every tenant, for all-seeing roles.
  return query
    select g.metric, g.labels, g.value
    from (
    -- Cheap by construction: the newest minute of hookline.stats_snapshots (its primary key
    -- starts with taken_at), the breakers (one row per target), the last run of each job
    -- (job_runs_job_name_started_at_idx) and the folded counts of dead letters and replays.
    -- Never counts deliveries, dead letters, attempts or audit rows.
    with newest as (
      select pg_catalog.max(s.taken_at) as taken_at
      from hookline.stats_snapshots s
      where s.taken_at > metric_gauges.now - interval '1 hour'
    ),
    snap as (
      select s.tenant_id, e.name as endpoint, s.pending_count, s.in_flight_count, s.retrying_count,
        s.dead_count, s.oldest_due_seconds
      from newest n
      join hookline.stats_snapshots s on s.taken_at = n.taken_at
      join hookline.endpoints e on e.endpoint_id = s.endpoint_id
    )
    select 'hookline_queue_depth',
      pg_catalog.jsonb_build_object('tenant', s.tenant_id, 'endpoint', s.endpoint, 'state', q.state),
      q.n::double precision
    from snap s
    cross join lateral (values ('pending', s.pending_count), ('in_flight', s.in_flight_count),
      ('retrying', s.retrying_count)) q (state, n)
    union all
    select 'hookline_oldest_due_seconds',
      pg_catalog.jsonb_build_object('tenant', s.tenant_id, 'endpoint', s.endpoint),
      coalesce(s.oldest_due_seconds, 0)
    from snap s
    union all
    select 'hookline_dlq_size',
      pg_catalog.jsonb_build_object('tenant', s.tenant_id, 'endpoint', s.endpoint),
      s.dead_count::double precision
    from snap s
    union all
    select 'hookline_stats_snapshot_age_seconds', '{}'::jsonb,
      extract(epoch from metric_gauges.now - n.taken_at)::double precision
    from newest n
    where n.taken_at is not null
    union all
    select 'hookline_circuits',
      pg_catalog.jsonb_build_object('kind', k.kind, 'state', st.state),
      pg_catalog.count(b.target)::double precision
    from (values ('closed'), ('open'), ('half_open')) st (state)
    cross join (values ('endpoint'), ('sender')) k (kind)
    left join hookline.circuit_breakers b
      on b.state = st.state and pg_catalog.split_part(b.target, ':', 1) = k.kind
    group by k.kind, st.state
    union all
    select 'hookline_endpoint_circuit_open',
      pg_catalog.jsonb_build_object('tenant', e.tenant_id, 'endpoint', e.name),
      coalesce(b.state <> 'closed', false)::integer::double precision
    from hookline.endpoints e
    -- each endpoint's breaker by key (a join read every breaker again, the numbers' too, in
    -- a plan made while there were few)
    left join lateral (
      select b.state from hookline.circuit_breakers b where b.target = 'endpoint:' || e.endpoint_id limit 1
    ) b on true
    union all
    select m.metric, pg_catalog.jsonb_build_object('job_name', j.job_name), m.value
    from hookline.jobs j
    left join lateral (
      select r.finished_at from hookline.job_runs r
      where r.job_name = j.job_name and r.status = 'succeeded'
      order by r.started_at desc limit 1
    ) ok on true
    left join lateral (
      select r.status from hookline.job_runs r
      where r.job_name = j.job_name
      order by r.started_at desc limit 1
    ) last on true
    cross join lateral (values
      ('hookline_job_last_success_timestamp_seconds', extract(epoch from ok.finished_at)::double precision),
      ('hookline_job_last_run_failed', (last.status = 'failed')::integer::double precision)
    ) m (metric, value)
    where j.is_enabled and m.value is not null
    union all
    -- 1 while a job has had no scheduled success within twice its schedule's longest gap
    -- (hookline.stale_jobs: the same rule as hookline stats and hookline cron list).
    select 'hookline_job_stale', pg_catalog.jsonb_build_object('job_name', j.job_name),
      (st.job_name is not null)::integer::double precision
    from hookline.jobs j
    left join hookline.stale_jobs(metric_gauges.now) st on st.job_name = j.job_name
    where j.is_enabled
    union all
    -- Deliveries replayed out of the dead-letter queue, per tenant, ever: the sum of the
    -- tenant's rows of dlq_replay_counts (appended by a trigger on the audit log's replay rows,
    -- folded by snapshot_stats into one row per tenant): one row per tenant plus the replays of
    -- the last minute, whatever the audit log holds.
    select 'hookline_dlq_replayed_deliveries', pg_catalog.jsonb_build_object('tenant', c.tenant_id),
      pg_catalog.sum(c.replayed)::double precision
    from hookline.dlq_replay_counts c
    group by c.tenant_id
    union all
    select 'hookline_alerts_firing', pg_catalog.jsonb_build_object('rule', r.rule_name),
      (select pg_catalog.count(*) from hookline.alerts a
       where a.rule_name = r.rule_name and a.state = 'firing')::double precision
    from hookline.alert_rules r
    union all
    select 'hookline_alert_notifications_undelivered',
      pg_catalog.jsonb_build_object('tenant', e.tenant_id, 'receiver', rc.receiver_name),
      (select coalesce(pg_catalog.sum(c.dead_count), 0) from hookline.dead_letter_counts c
       where c.endpoint_id = rc.endpoint_id)::double precision
    from hookline.alert_receivers rc
    cross join lateral (  -- by key (a join hashed every endpoint)
      select e.tenant_id from hookline.endpoints e where e.endpoint_id = rc.endpoint_id limit 1
    ) e
    ) g (metric, labels, value)
    where (select hookline._sees_all_tenants())
       or g.labels->>'tenant' = any ((select hookline._mapped_tenants())::text[]);
end
$$;

comment on function hookline.metric_gauges(timestamptz) is
  'The gauges the runner''s metrics endpoint serves, one row per sample (metric name, labels, value): queue depth by state, oldest due wait and dead letters per tenant and endpoint from the newest stats snapshot of the last hour, the snapshot''s age, circuit breakers by kind and state, whether each endpoint''s circuit is open, and each enabled job''s last success, whether its last run failed and whether it is stale (hookline.stale_jobs), the deliveries replayed per tenant (hookline.dlq_replay_counts), the firing alerts per rule and the dead alert notifications per receiver. Reads no hot table and no history. Errors: none of its own.';

-- SECURITY DEFINER: runners serve these gauges without table privileges; labels carry tenant, endpoint and job names only.
revoke all on function hookline.metric_gauges(timestamp with time zone) from public;
grant execute on function hookline.metric_gauges(timestamp with time zone) to hookline_runner, hookline_operator, hookline_readonly;
