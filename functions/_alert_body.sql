create or replace function hookline._alert_body(
  format text,
  routing_key text,
  receiver_name text,
  alert hookline.alerts,
  rule hookline.alert_rules
)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  -- What a receiver gets when an alert is raised (alert.state firing) or resolved. Only the
  -- rule, its severity and runbook, and the series' labels (tenant, endpoint or job names).
  with a as (
    select
      rule.summary || coalesce(' (' || (
        select pg_catalog.string_agg(l.key || ' ' || l.value, ', ' order by l.key)
        from pg_catalog.jsonb_each_text(alert.labels) l) || ')', '') as summary,
      alert.labels || pg_catalog.jsonb_build_object('alertname', rule.rule_name, 'severity', rule.severity) as labels,
      pg_catalog.jsonb_build_object('summary', rule.summary, 'runbook_url', rule.runbook_url,
        'value', alert.value::text, 'threshold', rule.threshold::text) as annotations,
      pg_catalog.to_char(alert.raised_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as starts_at,
      coalesce(pg_catalog.to_char(alert.resolved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        '0001-01-01T00:00:00Z') as ends_at
  )
  select case _alert_body.format
    when 'pagerduty' then
      -- PagerDuty Events API v2: a resolve needs only the routing key, the action and the dedup key.
      case alert.state
        when 'firing' then pg_catalog.jsonb_build_object(
          'routing_key', _alert_body.routing_key,
          'event_action', 'trigger',
          'dedup_key', alert.dedup_key,
          'payload', pg_catalog.jsonb_build_object(
            'summary', pg_catalog.left(a.summary, 1024),
            'source', 'hookline',
            'severity', rule.severity,
            'timestamp', a.starts_at,
            'component', alert.labels->>'endpoint',
            'group', alert.labels->>'tenant',
            'class', rule.rule_name,
            'custom_details', alert.labels || pg_catalog.jsonb_build_object(
              'value', alert.value, 'threshold', rule.threshold)),
          'links', pg_catalog.jsonb_build_array(
            pg_catalog.jsonb_build_object('href', rule.runbook_url, 'text', 'Runbook')))
        else pg_catalog.jsonb_build_object(
          'routing_key', _alert_body.routing_key,
          'event_action', 'resolve',
          'dedup_key', alert.dedup_key)
      end
    when 'opsgenie' then
      -- The Alertmanager webhook payload (version 4), as Opsgenie's Prometheus integration
      -- takes it: firing creates the alert, resolved closes it (matched on the group key).
      pg_catalog.jsonb_build_object(
        'version', '4',
        'groupKey', alert.dedup_key,
        'truncatedAlerts', 0,
        'status', case alert.state when 'firing' then 'firing' else 'resolved' end,
        'receiver', _alert_body.receiver_name,
        'groupLabels', pg_catalog.jsonb_build_object('alertname', rule.rule_name),
        'commonLabels', a.labels,
        'commonAnnotations', a.annotations,
        'externalURL', '',
        'alerts', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
          'status', case alert.state when 'firing' then 'firing' else 'resolved' end,
          'labels', a.labels,
          'annotations', a.annotations,
          'startsAt', a.starts_at,
          'endsAt', a.ends_at,
          'generatorURL', '',
          'fingerprint', pg_catalog.left(pg_catalog.md5(alert.dedup_key), 16))))
  end
  from a
$$;

comment on function hookline._alert_body(text, text, text, hookline.alerts, hookline.alert_rules) is
  'Internal. The request body a receiver gets for an alert: a PagerDuty Events API v2 trigger or resolve, or the Alertmanager webhook payload Opsgenie''s Prometheus integration takes. Carries the rule, severity, runbook and the series'' labels only. Errors: none of its own.';

-- Owner only (internal): no grants.
revoke all on function hookline._alert_body(text, text, text, hookline.alerts, hookline.alert_rules) from public;
