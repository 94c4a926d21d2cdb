"""Every SQL statement the package sends, by name. No other module contains SQL text."""

from __future__ import annotations

from typing import LiteralString

# --- migration registry (schema hookline_registry; sqitch keeps its own in schema sqitch) ---

DEPLOY_LOCK: LiteralString = "select pg_advisory_lock(hashtext('hookline.deploy'))"
DEPLOY_UNLOCK: LiteralString = "select pg_advisory_unlock(hashtext('hookline.deploy'))"

REGISTRY_EXISTS: LiteralString = "select to_regclass('hookline_registry.changes') is not null"

# What a deploy needs that only a DBA can give (Migrator._preflight): the group roles that are
# missing, whether the current role may create roles, may create schemas in this database.
DEPLOY_RIGHTS: LiteralString = """
select current_user::text as role, current_database()::text as database,
       array(select r from unnest(%(roles)s::text[]) with ordinality as w (r, n)
             where not exists (select from pg_catalog.pg_roles p where p.rolname = w.r)
             order by n) as missing,
       (select rolsuper or rolcreaterole from pg_catalog.pg_roles
        where rolname = current_user) as creates_roles,
       has_database_privilege(current_database(), 'create') as creates_schemas
"""

CREATE_REGISTRY: LiteralString = """
create schema if not exists hookline_registry;
comment on schema hookline_registry is 'What hookline db deploy has applied: changes of migrations/ and files of functions/.';
create table if not exists hookline_registry.changes (
  seq bigint generated always as identity,
  change text primary key,
  project text not null,
  plan_line_sha text not null,
  deploy_sha text not null,
  deployed_at timestamptz not null default clock_timestamp(),
  deployed_by text not null default session_user
);
create table if not exists hookline_registry.functions (
  file text primary key,
  sha text not null,
  applied_at timestamptz not null default clock_timestamp(),
  applied_by text not null default session_user
);
create table if not exists hookline_registry.events (
  event_id bigint generated always as identity primary key,
  action text not null check (action in ('deploy', 'revert', 'fail', 'functions')),
  change text not null,
  detail text,
  happened_at timestamptz not null default clock_timestamp(),
  done_by text not null default session_user
);
"""

DEPLOYED_CHANGES: LiteralString = """
select change, deploy_sha, deployed_at, deployed_by
from hookline_registry.changes
order by seq
"""

RECORD_DEPLOY: LiteralString = """
insert into hookline_registry.changes (change, project, plan_line_sha, deploy_sha)
values (%(change)s, %(project)s, %(plan_line_sha)s, %(deploy_sha)s)
"""

RECORD_REVERT: LiteralString = "delete from hookline_registry.changes where change = %(change)s"

LOG_EVENT: LiteralString = """
insert into hookline_registry.events (action, change, detail)
values (%(action)s, %(change)s, %(detail)s)
"""

APPLIED_FUNCTIONS: LiteralString = "select file, sha from hookline_registry.functions"

RECORD_FUNCTION: LiteralString = """
insert into hookline_registry.functions (file, sha) values (%(file)s, %(sha)s)
on conflict (file) do update
set sha = excluded.sha, applied_at = clock_timestamp(), applied_by = session_user
"""

FORGET_FUNCTION: LiteralString = "delete from hookline_registry.functions where file = %(file)s"

FORGET_ALL_FUNCTIONS: LiteralString = "delete from hookline_registry.functions"

# Functions are named after their file (functions/<name>.sql defines hookline.<name>).
FUNCTIONS_NAMED: LiteralString = """
select p.oid::regprocedure::text
from pg_proc p
where p.pronamespace = 'hookline'::regnamespace and p.proname = %(name)s
"""

# The schema version both tools maintain (migrations/deploy/table_schema_changes.sql).
SCHEMA_CHANGES_EXISTS: LiteralString = (
    "select to_regprocedure('hookline.schema_version()') is not null"
)

SCHEMA_CHANGES: LiteralString = "select change, deployed_at from hookline.schema_version()"

SCHEMA_CHANGE_RECORDED: LiteralString = """
select exists (select from hookline.schema_changes where change = %(change)s)
"""

# A database sqitch deployed before hookline.schema_changes existed (release v0.1.0).
SQITCH_REGISTRY_READABLE: LiteralString = """
select to_regclass('sqitch.changes') is not null
  and has_table_privilege('sqitch.changes', 'select')
"""

SQITCH_CHANGES: LiteralString = """
select change, committed_at from sqitch.changes where project = %(project)s order by committed_at
"""

# What functions/ has applied, as the catalog holds it (whichever tool applied it).
FUNCTION_BODIES: LiteralString = """
select p.proname::text, p.prosrc
from pg_proc p
where p.pronamespace = to_regnamespace('hookline')
"""

FUNCTION_OIDS: LiteralString = """
select p.oid::bigint, p.oid::regprocedure::text
from pg_proc p
where p.pronamespace = 'hookline'::regnamespace and p.proname = %(name)s
"""

# Roles that may execute a function (not PUBLIC, not its owner): a changed signature re-grants.
FUNCTION_GRANTEES: LiteralString = """
select distinct pg_get_userbyid(a.grantee)::text
from pg_proc p, aclexplode(p.proacl) a
where p.pronamespace = 'hookline'::regnamespace and p.proname = %(name)s
  and a.privilege_type = 'EXECUTE' and a.grantee <> 0 and a.grantee <> p.proowner
order by 1
"""

# The reason an operator gave, for the audit rows of this transaction (table_audit_triggers).
SET_AUDIT_REASON: LiteralString = "select set_config('hookline.reason', %(reason)s, true)"

# --- ingest ---

INGEST: LiteralString = """
select event_id, is_new from hookline.ingest(
  source => %(source)s, external_id => %(external_id)s, event_type => %(event_type)s,
  payload => %(payload)s, occurred_at => %(occurred_at)s
)
"""

# The deploy makes today's and the premake window's partitions (hookline.migrator).
PREMAKE_PARTITIONS: LiteralString = "select hookline.premake_partitions()"

# --- scheduled jobs ---

JOB_STATUS: LiteralString = """
select s.job_name, s.schedule, s.runs_in, s.is_enabled, s.description,
  s.last_started_at, s.last_finished_at, s.last_status, s.last_message,
  hookline._cron_job_name(s.job_name) as cron_job_name, st.stale_since
from hookline.job_status() s
left join hookline.stale_jobs() st on st.job_name = s.job_name
order by s.job_name
"""

RUN_JOB: LiteralString = """
select hookline.run_job(job_name => %(job_name)s, scheduled_for => %(scheduled_for)s, run_by => %(run_by)s)
"""

SET_JOB_SCHEDULE: LiteralString = """
select job_name from hookline.set_job(job_name => %(job_name)s, schedule => %(schedule)s)
"""

SET_JOB_RUNNER: LiteralString = """
select job_name from hookline.set_job(job_name => %(job_name)s, runs_in => %(runs_in)s)
"""

CRON_DATABASE: LiteralString = """
select current_setting('cron.database_name', true), current_database()
"""

CRON_BACKGROUND_WORKERS: LiteralString = (
    "select coalesce(current_setting('cron.use_background_workers', true), 'off')"
)

HAS_CRON_SCHEMA: LiteralString = "select to_regnamespace('cron') is not null"

CREATE_PG_CRON: LiteralString = "create extension if not exists pg_cron"

# The rest run on the database pg_cron lives in (cron.database_name).
CRON_SCHEDULE_IN_DATABASE: LiteralString = """
select cron.schedule_in_database(
  job_name => %(name)s, schedule => %(schedule)s,
  command => format('select hookline.run_job(%%L)', %(job_name)s::text), database => %(database)s
)
"""

CRON_UNSCHEDULE_NAMES: LiteralString = """
select count(cron.unschedule(j.jobid))
from cron.job j
where j.jobname = any(%(names)s) and j.database = %(database)s
"""

CRON_COUNT_NAMES: LiteralString = """
select count(*) from cron.job j where j.jobname = any(%(names)s) and j.database = %(database)s
"""

# pg_cron's last call of each job (newest run id first: the primary key's order).
CRON_LAST_RUNS: LiteralString = """
select j.jobname, r.start_time, r.status, r.return_message
from cron.job j
left join lateral (
  select d.start_time, d.status, d.return_message
  from cron.job_run_details d
  where d.jobid = j.jobid
  order by d.runid desc
  limit 1
) r on true
where j.jobname = any(%(names)s) and j.database = %(database)s
"""
# --- ingress and sources ---

SET_STATEMENT_TIMEOUT: LiteralString = "select set_config('statement_timeout', %(ms)s, false)"

SET_LOCAL_STATEMENT_TIMEOUT: LiteralString = "select set_config('statement_timeout', %(ms)s, true)"

SOURCE_CREDENTIALS: LiteralString = """
select kind, signing_secrets, verify_token, max_body_bytes
from hookline.source_credentials(source => %(source)s)
"""

# A group of requests in one transaction (the ingress's group commit). Each body is the
# request's text: PostgreSQL parses it (no re-serialization in Python), request by request.
# Binary parameters (%b): a text array literal would quote and escape every body (a regular
# expression substitution per element) and hex-encode every raw body, most of the ingress's CPU
# per request after HTTP itself.
RECEIVE_MANY: LiteralString = """
select ord, request_id, event_count, new_event_count, error_code, error_message
from hookline.receive_many(
  sources => %(sources)b::text[], bodies => %(bodies)b::text[], raws => %(raws)b::bytea[],
  headers => %(headers)b::jsonb[], sanitized => %(sanitized)b::jsonb[]
)
"""

READY: LiteralString = """
select to_regprocedure('hookline.receive_many(text[], text[], bytea[], jsonb[], jsonb[], timestamptz)') is not null
"""

ADD_SOURCE: LiteralString = """
select hookline.add_source(
  tenant_id => %(tenant)s, name => %(name)s, kind => %(kind)s, secret => %(secret)s,
  verify_token => %(verify_token)s, max_body_bytes => %(max_body_bytes)s,
  create_tenant => %(create_tenant)s
)
"""

LIST_SOURCES: LiteralString = "select * from hookline.list_sources()"

SHOW_SOURCE: LiteralString = "select * from hookline.show_source(source => %(name)s)"

ROTATE_SECRET: LiteralString = (
    "select * from hookline.rotate_secret(source => %(name)s, secret => %(secret)s)"
)

RETIRE_SECRET: LiteralString = "select * from hookline.retire_secret(source => %(name)s)"

REMOVE_SOURCE: LiteralString = "select hookline.remove_source(source => %(name)s)"

# --- delivery (the runner calls functions only, with named arguments) ---

LISTEN_DELIVERIES: LiteralString = "listen hookline_deliveries"

KEEPALIVE: LiteralString = "select 1"

# A pooler in between? (hookline.db.through_pooler)
BACKEND_PID: LiteralString = "select pg_backend_pid()"

# Can a runner work here? (hookline.db.check_runner_dsns)
SESSION_FACTS: LiteralString = "select pg_backend_pid(), pg_is_in_recovery()"

LISTEN_PROBE: LiteralString = "listen hookline_listen_probe"

NOTIFY_PROBE: LiteralString = "select pg_notify('hookline_listen_probe', %(token)s)"

# The lease token comes as text: the runner only sends it back (no UUID to parse and print).
CLAIM: LiteralString = """
select delivery_id, lease_token::text, webhook_id, url, timeout_ms, signing_secret, body, attempt, traceparent,
  endpoint_id, event_received_at
from hookline.claim(runner => %(runner)s, max_rows => %(max_rows)s, lease => %(lease)s)
"""

COMPLETE: LiteralString = (
    "select delivery_id, outcome from hookline.complete(results => %(results)s)"
)

RELEASE: LiteralString = "select hookline.release(runner => %(runner)s, leases => %(leases)s)"

# Seconds until the next delivery is due (negative when overdue; null when the queue is empty),
# measured on the database's clock.
SECONDS_TO_NEXT_DUE: LiteralString = (
    "select extract(epoch from hookline.next_due() - now())::float8"
)

# --- endpoints and subscriptions (the CLI) ---

ADD_ENDPOINT: LiteralString = """
select endpoint_id, secret from hookline.add_endpoint(
  tenant => %(tenant)s, name => %(name)s, url => %(url)s, signing_secret => %(signing_secret)s,
  timeout_ms => %(timeout_ms)s, max_in_flight => %(max_in_flight)s,
  retry_schedule => %(retry_schedule)s::interval[],
  is_retrying_client_errors => %(is_retrying_client_errors)s
)
"""

# Operators' listings read the masked view's rows (no secrets, URLs without query strings),
# by name through its keyed function: one endpoint's counts, not every endpoint's.
ENDPOINTS: LiteralString = """
select e.endpoint_id as id, e.name, e.tenant_id as tenant, e.url, e.state, e.paused_reason,
  e.timeout_ms, e.max_in_flight,
  e.retry_schedule, e.is_retrying_client_errors, e.live_deliveries, e.dead_letters
from hookline.endpoint_overview_rows(%(name)s::text) e
order by e.name
"""

# Owner only (the table): the secret a handler verifies with.
ENDPOINT_SECRET: LiteralString = """
select e.signing_secret from hookline.endpoints e where e.name = %(name)s
"""

SET_ENDPOINT: LiteralString = """
select hookline.set_endpoint(
  name => %(name)s, url => %(url)s, timeout_ms => %(timeout_ms)s, max_in_flight => %(max_in_flight)s,
  retry_schedule => %(retry_schedule)s::interval[], reason => %(reason)s
)
"""

PAUSE_ENDPOINT: LiteralString = (
    "select hookline.pause_endpoint(name => %(name)s, reason => %(reason)s)"
)

RESUME_ENDPOINT: LiteralString = (
    "select hookline.resume_endpoint(name => %(name)s, reason => %(reason)s)"
)

REMOVE_ENDPOINT: LiteralString = "select hookline.remove_endpoint(name => %(name)s)"

ADD_SUBSCRIPTION: LiteralString = """
select hookline.add_subscription(
  endpoint => %(endpoint)s, event_type_pattern => %(pattern)s, source => %(source)s
)
"""

SUBSCRIPTIONS: LiteralString = """
select s.subscription_id as id, e.name as endpoint, s.event_type_pattern as pattern,
  src.name as source, s.tenant_id as tenant
from hookline.subscriptions s
join hookline.endpoints e on e.endpoint_id = s.endpoint_id
left join hookline.sources src on src.source_id = s.source_id
where %(endpoint)s::text is null or e.name = %(endpoint)s::text
order by s.subscription_id
"""

REMOVE_SUBSCRIPTION: LiteralString = (
    "select hookline.remove_subscription(subscription_id => %(id)s)"
)

# --- outbound WhatsApp (the runner's outbox loop and the CLI) ---

LISTEN_OUTBOX: LiteralString = "listen hookline_outbox"

CLAIM_MESSAGES: LiteralString = """
select message_id, lease_token, phone_number_id, access_token, timeout_ms, body, send_within_ms
from hookline.claim_messages(runner => %(runner)s, max_rows => %(max_rows)s, lease => %(lease)s)
"""

COMPLETE_MESSAGES: LiteralString = (
    "select message_id, outcome from hookline.complete_messages(results => %(results)s)"
)

RELEASE_MESSAGES: LiteralString = (
    "select hookline.release_messages(runner => %(runner)s, leases => %(leases)s)"
)

SECONDS_TO_NEXT_MESSAGE: LiteralString = (
    "select extract(epoch from hookline.next_message_due() - now())::float8"
)

ADD_SENDER: LiteralString = """
select hookline.add_sender(
  source => %(source)s, phone_number_id => %(phone_number_id)s, access_token => %(access_token)s,
  messages_per_second => %(messages_per_second)s, pair_interval => %(pair_interval)s,
  pair_burst => %(pair_burst)s, unconfirmed_wait => %(unconfirmed_wait)s, timeout_ms => %(timeout_ms)s
)
"""

SET_SENDER: LiteralString = """
select hookline.set_sender(
  phone_number_id => %(phone_number_id)s, access_token => %(access_token)s,
  messages_per_second => %(messages_per_second)s, pair_interval => %(pair_interval)s,
  pair_burst => %(pair_burst)s, unconfirmed_wait => %(unconfirmed_wait)s, timeout_ms => %(timeout_ms)s
)
"""

LIST_SENDERS: LiteralString = "select * from hookline.list_senders()"

PAUSE_SENDER: LiteralString = (
    "select hookline.pause_sender(phone_number_id => %(phone_number_id)s, reason => %(reason)s)"
)

RESUME_SENDER: LiteralString = (
    "select hookline.resume_sender(phone_number_id => %(phone_number_id)s)"
)

LIST_BREAKERS: LiteralString = "select * from hookline.list_breakers()"

SET_BREAKER: LiteralString = """
select target, state, is_forced from hookline.set_breaker(
  target => %(target)s, mode => %(mode)s, reason => %(reason)s
)
"""

# --- operations: the dead-letter queue, stats, audit, tenant access (masked views only) ---

# Filters are parameters, never text in the query; null means "any". The page of ids comes
# from hookline.dead_letter_page (by the primary key), its rows from hookline.dead_letter_rows
# (the masked view's rows, by the primary key: a `where` on the view itself would read and
# mask every dead letter of the caller's tenants first; docs/security.md).
DLQ_LIST: LiteralString = """
with p as (
  select p.delivery_id, p.has_event from hookline.dead_letter_page(
    tenant => %(tenant)s, endpoint => %(endpoint)s, event_type => %(event_type)s,
    since => %(since)s, until => %(until)s, error_class => %(error_class)s, state => %(state)s,
    after => %(after)s, page_size => %(limit)s, replayable => %(replayable)s
  ) p
)
select q.delivery_id, q.tenant_id as tenant, q.endpoint, q.event_type, q.state, q.error_class,
  q.attempt_count as attempts, q.generation, q.finished_at, p.has_event as replayable, q.reason
from hookline.dead_letter_rows(array(select p.delivery_id from p)) q
join p using (delivery_id)
order by q.delivery_id
"""

# The next chunk of a bulk replay or discard; replay skips rows whose event retention dropped.
DLQ_CHUNK: LiteralString = """
select p.delivery_id from hookline.dead_letter_page(
  tenant => %(tenant)s, endpoint => %(endpoint)s, event_type => %(event_type)s,
  since => %(since)s, until => %(until)s, error_class => %(error_class)s, state => %(state)s,
  after => %(after)s, page_size => %(limit)s, replayable => %(replayable)s
) p
"""

DLQ_COUNT: LiteralString = """
select count(*) as matching, count(*) filter (where not p.has_event) as expired
from hookline.dead_letter_page(
  tenant => %(tenant)s, endpoint => %(endpoint)s, event_type => %(event_type)s,
  since => %(since)s, until => %(until)s, error_class => %(error_class)s, state => %(state)s,
  after => %(after)s, page_size => %(limit)s, replayable => %(replayable)s
) p
"""

# A dead letter, its event and its attempts, each by its key through the keyed function of
# its masked view (hookline.dead_letter_rows, event_log_rows, attempt_log_rows).
DLQ_SHOW: LiteralString = """
select q.* from hookline.dead_letter_rows(array[%(id)s]::bigint[]) q
"""

DLQ_EVENT: LiteralString = """
select ev.payload, ev.source, ev.external_id, ev.wa_id
from hookline.event_log_rows(%(event_id)s, %(received_at)s) ev
"""

DLQ_ATTEMPTS: LiteralString = """
select a.attempted_at, a.generation, a.attempt_number, a.status_code, a.error_class, a.outcome,
  a.duration_ms, a.response_excerpt
from hookline.attempt_log_rows(%(id)s) a
order by a.attempted_at, a.attempt_id
"""

REPLAY: LiteralString = (
    "select hookline.replay(delivery_ids => %(ids)s, reason => %(reason)s, filter => %(filter)s)"
    " as delivery_id"
)

DISCARD: LiteralString = (
    "select hookline.discard(delivery_ids => %(ids)s, reason => %(reason)s, filter => %(filter)s)"
    " as delivery_id"
)

# Counts through the counting functions (hookline.live_delivery_totals, dead_letter_totals,
# attempt_window_totals): the tables grouped for the caller's tenants, nothing masked only to count
# it; the last hour's attempts read once for both windows (the hour, its last 15 minutes).
STATS: LiteralString = """
with queue as materialized (select * from hookline.live_delivery_totals()),
  attempts as materialized (
    select * from hookline.attempt_window_totals(since => now() - interval '1 hour',
                                                 recent_since => now() - interval '15 minutes'))
select pg_catalog.jsonb_build_object(
  'queue', (select coalesce(jsonb_object_agg(s.state, s.n), '{}') from
            (select q.state, sum(q.deliveries)::bigint as n from queue q group by q.state) s),
  'dlq', (select coalesce(jsonb_object_agg(s.state, s.n), '{}') from
          (select c.state, sum(c.dead_letters)::bigint as n from hookline.dead_letter_totals() c group by c.state) s),
  'oldest_due_at', (select min(q.oldest_due_at) from queue q),
  'deliveries_per_minute', (select round(coalesce(sum(r.recent) filter (where r.outcome = 'succeeded'), 0) / 15.0, 2)
                            from attempts r),
  'attempts_per_minute', (select round(coalesce(sum(r.recent), 0) / 15.0, 2) from attempts r),
  'top_failing_endpoints', (select coalesce(jsonb_agg(t order by t.failures_last_hour desc, t.endpoint), '[]') from (
      select e.name as endpoint, e.tenant_id as tenant, e.state, f.failures_last_hour, e.dead_letters
      from (select a.endpoint_id, sum(a.attempts)::bigint as failures_last_hour
            from attempts a where a.outcome in ('retrying', 'dead')
            group by a.endpoint_id) f
      join hookline.endpoint_overview e on e.endpoint_id = f.endpoint_id
      order by 4 desc, 1
      limit 5) t),
  'stale_jobs', (select coalesce(jsonb_agg(s), '[]') from hookline.stale_jobs() s),
  'undelivered_alerts', (select coalesce(jsonb_object_agg(g.labels->>'receiver', g.value::bigint), '{}')
                         from hookline.metric_gauges() g
                         where g.metric = 'hookline_alert_notifications_undelivered' and g.value > 0),
  'circuits', (select coalesce(jsonb_object_agg(c.state, c.n), '{}') from
               (select b.state, count(*) as n from hookline.circuit_states b group by b.state) c)
)
"""

AUDIT_VERIFY: LiteralString = "select audit_id, problem from hookline.verify_audit()"

AUDIT_HEAD: LiteralString = """
select count(*), max(audit_id), (select encode(hash, 'hex') from hookline.audit_log
                                 order by audit_id desc limit 1)
from hookline.audit_log
"""

AUDIT_HASHES: LiteralString = """
select audit_id, encode(hash, 'hex') as hash from hookline.audit_log where audit_id = any(%(ids)s::bigint[])
"""

AUDIT_LIST: LiteralString = """
select a.audit_id, a.recorded_at, a.acting_role, a.session_user_name, a.action, a.tenant_id as tenant,
  a.target, a.reason, a.before, a.after
from hookline.audit_trail_page(of_tenant => %(tenant)s::text, of_action => %(action)s::text,
  since => %(since)s::timestamptz, page_size => %(limit)s) a
order by a.audit_id desc
"""

SET_DEAD_LETTER_RETENTION: LiteralString = """
select hookline.set_dead_letter_retention(
  tenant => %(tenant)s, retention => %(retention)s::interval, reason => %(reason)s
)::text as retention
"""

GRANT_TENANT: LiteralString = """
select hookline.grant_tenant(role_name => %(role)s, tenant_id => %(tenant)s, reason => %(reason)s)
"""

REVOKE_TENANT: LiteralString = """
select hookline.revoke_tenant(role_name => %(role)s, tenant_id => %(tenant)s, reason => %(reason)s)
"""

# The one masking definition (SQL); the ingress and the runner mask their log lines with it.
MASKING_RULES: LiteralString = "select rule, pattern, replacement from hookline.masking_rules()"

ALLOW_HTTP: LiteralString = """
select hookline.allow_http(tenant_id => %(tenant)s, allowed => %(allowed)s, reason => %(reason)s)
"""

STORED_SECRETS: LiteralString = "select kind, ref, slot, value from hookline.stored_secrets()"

RESEAL_SECRETS: LiteralString = "select hookline.reseal_secrets(%(changes)s)"

ROTATE_ENDPOINT_SECRET: LiteralString = """
select endpoint_id, secret_count
from hookline.rotate_endpoint_secret(%(name)s, %(secret)s, %(reason)s)
"""

# --- metrics (hookline.metrics) ---

METRIC_GAUGES: LiteralString = "select metric, labels, value from hookline.metric_gauges()"
