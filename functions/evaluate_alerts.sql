create or replace function hookline.evaluate_alerts(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
-- No JIT: its statements' estimates (a temporary table never analysed, an ingest per receiver,
-- receivers and rules too few rows for autovacuum to analyse) crossed jit_above_cost, and every
-- run, once a minute, compiled a plan that found nothing to do (167 to 236 ms a run, 20 to 42
-- ms without: tests/integration/test_plan_cache.py).
set jit = off
as $$
declare
  v_raised integer;
  v_resolved integer;
  v_sent integer;
  v_undelivered integer;
begin
  -- Serialise evaluations: two at once would raise the same alert twice.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.evaluate_alerts'));

  create temp table if not exists pg_temp.changed_alerts (like hookline.alerts) on commit drop;
  truncate pg_temp.changed_alerts;

  with breach as (
    select r.rule_name, g.labels, g.value,
      r.rule_name || coalesce(':' || (
        select pg_catalog.string_agg(l.value, '/' order by l.key)
        from pg_catalog.jsonb_each_text(g.labels) l), '') as dedup_key
    from hookline.alert_rules r
    join hookline.metric_gauges(evaluate_alerts.now) g on g.metric = r.metric
    where r.is_enabled and g.value > r.threshold
      -- A receiver's own dead notifications are counted apart (undelivered, below): alerting
      -- on them through the same receivers would only add to them.
      and not exists (
        select from hookline.alert_receivers rc
        join hookline.endpoints e on e.endpoint_id = rc.endpoint_id
        where e.name = g.labels->>'endpoint')
  ),
  raised as (
    insert into hookline.alerts (rule_name, dedup_key, labels, value, raised_at)
    select b.rule_name, b.dedup_key, b.labels, b.value, evaluate_alerts.now
    from breach b
    where not exists (
      select from hookline.alerts a where a.dedup_key = b.dedup_key and a.state = 'firing')
    returning *
  ),
  resolved as (
    update hookline.alerts a
    set state = 'resolved', resolved_at = evaluate_alerts.now
    where a.state = 'firing'
      and not exists (select from breach b where b.dedup_key = a.dedup_key)
    returning a.*
  )
  insert into pg_temp.changed_alerts
  select * from raised
  union all
  select * from resolved;

  select pg_catalog.count(*) filter (where c.state = 'firing'),
    pg_catalog.count(*) filter (where c.state = 'resolved')
  into v_raised, v_resolved
  from pg_temp.changed_alerts c;

  -- One event per change and receiver, delivered by the runners like any other event; the
  -- external id makes a repeated evaluation of the same change a duplicate.
  select pg_catalog.count(*) filter (where i.is_new) into v_sent
  from pg_temp.changed_alerts c
  join hookline.alert_rules r on r.rule_name = c.rule_name
  cross join hookline.alert_receivers rc
  -- each receiver's source by key (a join read every source, a platform's thousands)
  cross join lateral (
    select s.name from hookline.sources s where s.source_id = rc.source_id limit 1
  ) s
  cross join lateral hookline.ingest(
    s.name,
    rc.receiver_name || ':' || c.dedup_key || ':' || c.alert_id || ':' || c.state,
    'hookline.alert.' || rc.receiver_name,
    hookline._alert_body(rc.format, rc.routing_key, rc.receiver_name, row(c.*)::hookline.alerts, r),
    occurred_at => evaluate_alerts.now
  ) i;

  -- The receivers' dead letters, from their counts (hookline.dead_letter_counts), not a count.
  select coalesce(pg_catalog.sum(c.dead_count), 0) into v_undelivered
  from hookline.alert_receivers rc
  join hookline.dead_letter_counts c on c.endpoint_id = rc.endpoint_id;

  if v_undelivered > 0 then
    raise warning using message = format('%s alert notifications could not be delivered', v_undelivered),
      hint = 'hookline dlq list --tenant <the receivers'' tenant> shows them.';
  end if;
  return format('%s raised, %s resolved, %s notifications queued, %s undelivered',
    v_raised, v_resolved, v_sent, v_undelivered);
end
$$;

comment on function hookline.evaluate_alerts(timestamptz) is
  'Job. Compares the gauges of hookline.metric_gauges(now) with hookline.alert_rules: raises an alert for each series above its rule''s threshold (one firing alert per dedup key) and resolves the firing alerts whose series no longer is; each change becomes an event of type hookline.alert.<receiver> per receiver, which the runners deliver. Returns a summary with the count of alert notifications that went dead (also a WARNING). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.evaluate_alerts(timestamp with time zone) from public;
