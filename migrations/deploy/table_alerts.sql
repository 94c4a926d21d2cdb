-- Deploy hookline:table_alerts to pg
-- requires: table_endpoints
-- requires: table_sources
-- requires: table_jobs
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Paging without a Prometheus stack: the evaluate_alerts job compares the gauges of
-- hookline.metric_gauges() with these thresholds, and raises and resolves alerts that are
-- delivered, like any event, to the receivers' endpoints. Owner-only tables: no grants.
create table hookline.alert_rules (
  rule_name text primary key,
  metric text not null,
  threshold double precision not null,
  severity text not null default 'warning',
  summary text not null,
  runbook_url text not null,
  is_enabled boolean not null default true,
  constraint alert_rules_rule_name_format check (rule_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  constraint alert_rules_metric_format check (metric ~ '^hookline_[a-z0-9_]+$'),
  constraint alert_rules_severity_known check (severity in ('critical', 'error', 'warning', 'info'))
);

create table hookline.alert_receivers (
  receiver_name text primary key,
  format text not null,
  endpoint_id bigint not null references hookline.endpoints (endpoint_id) on delete cascade,
  source_id bigint not null references hookline.sources (source_id) on delete cascade,
  routing_key text,
  constraint alert_receivers_receiver_name_format check (receiver_name ~ '^[a-z0-9][a-z0-9_-]{0,40}$'),
  constraint alert_receivers_format_known check (format in ('pagerduty', 'opsgenie')),
  constraint alert_receivers_routing_key_iff_pagerduty check ((routing_key is not null) = (format = 'pagerduty')),
  constraint alert_receivers_endpoint_id_key unique (endpoint_id)
);

create index alert_receivers_source_id_idx on hookline.alert_receivers (source_id);

create table hookline.alerts (
  alert_id bigint generated always as identity primary key,
  rule_name text not null references hookline.alert_rules (rule_name) on delete cascade,
  dedup_key text not null,
  labels jsonb not null,
  value double precision not null,
  state text not null default 'firing',
  raised_at timestamptz not null,
  resolved_at timestamptz,
  constraint alerts_state_known check (state in ('firing', 'resolved')),
  constraint alerts_resolved_at_iff_resolved check ((resolved_at is not null) = (state = 'resolved'))
);

create unique index alerts_one_firing_per_dedup_key on hookline.alerts (dedup_key) where state = 'firing';
create index alerts_rule_name_idx on hookline.alerts (rule_name);

insert into hookline.alert_rules (rule_name, metric, threshold, severity, summary, runbook_url) values
  ('dlq_size', 'hookline_dlq_size', 100, 'warning', 'Dead-letter queue above its threshold', 'docs/observability.md#hooklinedeadlettersgrowing'),
  ('oldest_due', 'hookline_oldest_due_seconds', 900, 'critical', 'Deliveries wait past their time', 'docs/observability.md#hooklineoldestduetooold'),
  ('circuit_open', 'hookline_endpoint_circuit_open', 0, 'warning', 'Endpoint circuit open', 'docs/observability.md#hooklinecircuitopentoolong'),
  ('job_failed', 'hookline_job_last_run_failed', 0, 'warning', 'Scheduled job failed', 'docs/observability.md#hooklinejobfailing');

comment on table hookline.alert_rules is 'Alert thresholds: an alert fires for each series of the gauge metric (hookline.metric_gauges()) whose value is above threshold, and resolves when it no longer is. Edit the rows to tune them.';
comment on column hookline.alert_rules.rule_name is 'The rule; the first part of the alerts'' dedup key.';
comment on column hookline.alert_rules.metric is 'A gauge of hookline.metric_gauges(), e.g. hookline_dlq_size.';
comment on column hookline.alert_rules.threshold is 'The alert fires while the value is above this.';
comment on column hookline.alert_rules.severity is 'critical, error, warning or info (PagerDuty''s severities).';
comment on column hookline.alert_rules.summary is 'The alert''s title; the series'' labels are appended.';
comment on column hookline.alert_rules.runbook_url is 'Where the responder reads what to do.';
comment on column hookline.alert_rules.is_enabled is 'A disabled rule raises nothing and its firing alerts resolve.';
comment on table hookline.alert_receivers is 'Where alerts go: an endpoint (body_format payload) subscribed to the event type hookline.alert.<receiver_name> of its tenant''s alerts source. Added by hookline.add_alert_receiver.';
comment on column hookline.alert_receivers.receiver_name is 'The receiver; its events are of type hookline.alert.<receiver_name>.';
comment on column hookline.alert_receivers.format is 'pagerduty (Events API v2) or opsgenie (the Alertmanager webhook payload of Opsgenie''s Prometheus integration).';
comment on column hookline.alert_receivers.endpoint_id is 'The endpoint that delivers to the service.';
comment on column hookline.alert_receivers.source_id is 'The source the alert events are ingested under (the tenant''s alerts source).';
comment on column hookline.alert_receivers.routing_key is 'The PagerDuty integration (routing) key; null for Opsgenie, whose key is in the endpoint URL.';
comment on table hookline.alerts is 'Alerts the evaluate_alerts job raised; at most one firing alert per dedup key.';
comment on column hookline.alerts.alert_id is 'Identity.';
comment on column hookline.alerts.rule_name is 'The rule that raised it.';
comment on column hookline.alerts.dedup_key is 'rule name and the series'' label values (tenant, endpoint, job names only): stable across evaluations, the receivers'' dedup key.';
comment on column hookline.alerts.labels is 'The series'' labels.';
comment on column hookline.alerts.value is 'The value when it was raised.';
comment on column hookline.alerts.state is 'firing or resolved.';
comment on column hookline.alerts.raised_at is 'When it was raised.';
comment on column hookline.alerts.resolved_at is 'When it was resolved; null while firing.';

insert into hookline.schema_changes (change) values ('table_alerts');

COMMIT;
