create or replace function hookline.snapshot_stats(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_minute timestamptz := pg_catalog.date_trunc('minute', snapshot_stats.now);
  v_rows integer;
begin
  insert into hookline.stats_snapshots (
    taken_at, endpoint_id, tenant_id, pending_count, in_flight_count, retrying_count, dead_count,
    succeeded_count, failed_count, oldest_due_seconds
  )
  select v_minute, e.endpoint_id, e.tenant_id,
    coalesce(q.pending_count, 0), coalesce(q.in_flight_count, 0), coalesce(q.retrying_count, 0),
    coalesce(dl.dead_count, 0), coalesce(a.succeeded_count, 0), coalesce(a.failed_count, 0),
    q.oldest_due_seconds
  from hookline.endpoints e
  left join lateral (
    select
      pg_catalog.count(*) filter (where d.state = 'pending')::integer as pending_count,
      pg_catalog.count(*) filter (where d.state = 'in_flight')::integer as in_flight_count,
      pg_catalog.count(*) filter (where d.state = 'retrying')::integer as retrying_count,
      extract(epoch from v_minute - pg_catalog.min(d.next_attempt_at)
        filter (where d.state in ('pending', 'retrying') and d.next_attempt_at <= v_minute))::double precision
        as oldest_due_seconds
    from hookline.deliveries d
    where d.endpoint_id = e.endpoint_id
  ) q on true
  left join lateral (
    select pg_catalog.count(*)::integer as dead_count
    from hookline.dead_letters x
    where x.endpoint_id = e.endpoint_id and x.state = 'dead'
  ) dl on true
  -- The attempts of the last minute, read once through the BRIN range index of attempted_at:
  -- the cost follows the minute's attempts, not the day's.
  left join (
    select t.endpoint_id,
      pg_catalog.count(*) filter (where t.outcome = 'succeeded')::integer as succeeded_count,
      pg_catalog.count(*) filter (where t.outcome in ('retrying', 'dead'))::integer as failed_count
    from hookline.attempts t
    where t.attempted_at >= v_minute - interval '1 minute' and t.attempted_at < v_minute
    group by t.endpoint_id
  ) a on a.endpoint_id = e.endpoint_id
  on conflict on constraint stats_snapshots_pkey do nothing;
  get diagnostics v_rows = row_count;
  return format('%s endpoint rows for %s', v_rows, v_minute);
end
$$;

comment on function hookline.snapshot_stats(timestamptz) is
  'Job. Writes one hookline.stats_snapshots row per endpoint for the minute of now (idempotent: a minute is written once): live deliveries by state, dead letters, the oldest due delivery''s wait, and the attempts that succeeded or failed in the minute before. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.snapshot_stats(timestamp with time zone) from public;
