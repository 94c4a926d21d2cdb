-- Deploy hookline:table_schema_changes to pg
-- requires: role_hookline

BEGIN;

set local lock_timeout = '5s';

-- The schema version, readable from SQL whichever tool deployed (hookline db deploy or
-- sqitch): every change from this one on records itself here in its deploy script and removes
-- itself in its revert script. Runners, the ingress and `hookline db status` read it through
-- hookline.schema_version() and compare it with the plan of the package they come from.
create table hookline.schema_changes (
  seq bigint generated always as identity primary key,
  change text not null unique,
  deployed_at timestamptz not null default pg_catalog.clock_timestamp(),
  deployed_by name not null default session_user
);

comment on table hookline.schema_changes is 'The schema version: the changes of migrations/sqitch.plan deployed here, in plan order. Each change inserts its row in its deploy script and deletes it in its revert script.';
comment on column hookline.schema_changes.seq is 'Order of deployment (plan order; gaps after a revert).';
comment on column hookline.schema_changes.change is 'The change''s name in migrations/sqitch.plan.';
comment on column hookline.schema_changes.deployed_at is 'When the change was deployed (the changes of release v0.1.0: when this table was created).';
comment on column hookline.schema_changes.deployed_by is 'The login role that deployed it.';

-- Roles other than the owner hold no table privileges (docs/security.md): they read the
-- version through this function.
create function hookline.schema_version()
returns table (change text, deployed_at timestamptz)
language sql
stable
security definer
set search_path = ''
begin atomic
  select s.change, s.deployed_at from hookline.schema_changes s order by s.seq;
end;

comment on function hookline.schema_version() is
  'Migration-owned. The schema version: the changes of migrations/sqitch.plan deployed here, in plan order, with when each was deployed (hookline.schema_changes). Runners, the ingress and hookline db status compare it with their package. Errors: none.';

-- SECURITY DEFINER: every role of hookline reads the version without table privileges.
revoke all on function hookline.schema_version() from public;
grant execute on function hookline.schema_version() to hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

-- The changes of release v0.1.0, deployed before this table existed (sqitch deploys in plan
-- order, so every one of them is here).
insert into hookline.schema_changes (change) values
  ('schema_hookline'),
  ('table_tenants'),
  ('table_sources'),
  ('table_partition_policies'),
  ('table_events'),
  ('table_event_keys'),
  ('table_jobs'),
  ('cron_jobs'),
  ('table_raw_requests'),
  ('table_events_whatsapp_columns'),
  ('type_delivery_state'),
  ('table_endpoints'),
  ('table_subscriptions'),
  ('table_deliveries'),
  ('table_attempts'),
  ('table_dead_letters'),
  ('index_dead_letters_event_received_at'),
  ('table_stats_snapshots'),
  ('cron_delivery_jobs'),
  ('type_outbox_state'),
  ('table_senders'),
  ('table_outbox'),
  ('table_graph_error_codes'),
  ('table_circuit_breakers'),
  ('role_hookline'),
  ('table_role_tenants'),
  ('function_masking'),
  ('table_audit_log'),
  ('table_audit_triggers'),
  ('table_tenants_policy'),
  ('table_sources_policy'),
  ('table_endpoints_policy'),
  ('table_subscriptions_policy'),
  ('table_events_policy'),
  ('table_raw_requests_policy'),
  ('table_deliveries_policy'),
  ('table_attempts_policy'),
  ('table_dead_letters_policy'),
  ('table_audit_log_policy'),
  ('view_operator'),
  ('grant_registry'),
  ('table_tenants_allows_http'),
  ('table_outbox_policy'),
  ('table_senders_policy'),
  ('table_stats_snapshots_policy'),
  ('view_outbound_operator'),
  ('table_schema_changes');

COMMIT;
