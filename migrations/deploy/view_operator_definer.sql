-- Deploy hookline:view_operator_definer to pg
-- requires: view_operator
-- requires: view_outbound_operator
-- requires: function_masking_formatted
-- requires: table_dead_letters_error_class
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- The operator views become views over set-returning SECURITY DEFINER functions. A view, even
-- a security barrier, lets the planner push a caller's leakproof predicates (=, <, > on ids,
-- names, times) into the scans of the tables below it, ahead of the tenant filter: EXPLAIN
-- (ANALYZE) then counts another tenant's rows ("Rows Removed by Filter") and a range predicate
-- spells out its names. A function is opaque to the planner (a SECURITY DEFINER function with a
-- SET clause is never inlined): it filters by the caller's tenants first, and the caller's
-- predicates only ever see the rows it returns. Same columns, names, types and grants as before.
-- The functions run with their owner's rights (like the views did) and are executable by the
-- roles that read the views, which call them with the caller's rights; they return only the
-- caller's tenants' rows, masked: now also the audit log's before/after (hookline.mask_json)
-- and WhatsApp message ids in event_log.external_id (hookline.mask_external_id).

create function hookline._dead_letter_queue_rows()
returns table (
  delivery_id bigint,
  tenant_id text,
  endpoint text,
  event_type text,
  state text,
  error_class text,
  reason text,
  last_status_code integer,
  attempt_count integer,
  generation integer,
  created_at timestamp with time zone,
  finished_at timestamp with time zone,
  event_id bigint,
  event_received_at timestamp with time zone
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select l.delivery_id, l.tenant_id, e.name as endpoint, ev.event_type, l.state::text as state,
    case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
    hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
    l.created_at, l.finished_at, l.event_id, l.event_received_at
  from hookline.dead_letters l
  join hookline.endpoints e on e.endpoint_id = l.endpoint_id
  left join lateral (
    select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
  ) ev on true
  where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.dead_letter_queue with (security_barrier) as
select * from hookline._dead_letter_queue_rows();

create function hookline._live_deliveries_rows()
returns table (
  delivery_id bigint,
  tenant_id text,
  endpoint text,
  state text,
  next_attempt_at timestamp with time zone,
  attempt_count integer,
  generation integer,
  created_at timestamp with time zone,
  runner text,
  event_id bigint
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select d.delivery_id, d.tenant_id, e.name as endpoint, d.state::text as state, d.next_attempt_at,
    d.attempt_count, d.generation, d.created_at, d.runner, d.event_id
  from hookline.deliveries d
  join hookline.endpoints e on e.endpoint_id = d.endpoint_id
  where (select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.live_deliveries with (security_barrier) as
select * from hookline._live_deliveries_rows();

create function hookline._endpoint_overview_rows()
returns table (
  endpoint_id bigint,
  name text,
  tenant_id text,
  url text,
  state text,
  paused_reason text,
  timeout_ms integer,
  max_in_flight integer,
  retry_schedule text[],
  is_retrying_client_errors boolean,
  live_deliveries bigint,
  dead_letters bigint,
  created_at timestamp with time zone,
  updated_at timestamp with time zone
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select e.endpoint_id, e.name, e.tenant_id, pg_catalog.regexp_replace(e.url, '[?#].*$', '') as url, e.state,
    hookline.mask_text(e.paused_reason) as paused_reason, e.timeout_ms, e.max_in_flight,
    e.retry_schedule::text[] as retry_schedule, e.is_retrying_client_errors,
    (select pg_catalog.count(*) from hookline.deliveries d where d.endpoint_id = e.endpoint_id) as live_deliveries,
    (select pg_catalog.count(*) from hookline.dead_letters l where l.endpoint_id = e.endpoint_id) as dead_letters,
    e.created_at, e.updated_at
  from hookline.endpoints e
  where (select hookline._sees_all_tenants()) or e.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.endpoint_overview with (security_barrier) as
select * from hookline._endpoint_overview_rows();

create function hookline._attempt_log_rows()
returns table (
  attempt_id bigint,
  attempted_at timestamp with time zone,
  delivery_id bigint,
  endpoint_id bigint,
  tenant_id text,
  generation integer,
  attempt_number integer,
  status_code integer,
  duration_ms integer,
  outcome text,
  error_class text,
  response_excerpt text
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select a.attempt_id, a.attempted_at, a.delivery_id, a.endpoint_id, a.tenant_id, a.generation, a.attempt_number,
    a.status_code, a.duration_ms, a.outcome, a.error_class, hookline.mask_text(a.response_excerpt) as response_excerpt
  from hookline.attempts a
  where (select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.attempt_log with (security_barrier) as
select * from hookline._attempt_log_rows();

create function hookline._event_log_rows()
returns table (
  event_id bigint,
  received_at timestamp with time zone,
  tenant_id text,
  source text,
  external_id text,
  event_type text,
  occurred_at timestamp with time zone,
  phone_number_id text,
  wa_id text,
  payload jsonb
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select ev.event_id, ev.received_at, ev.tenant_id, s.name as source, hookline.mask_external_id(ev.external_id) as external_id, ev.event_type, ev.occurred_at,
    ev.phone_number_id, hookline.mask_phone(ev.wa_id) as wa_id, hookline.mask_payload(ev.payload) as payload
  from hookline.events ev
  left join hookline.sources s on s.source_id = ev.source_id
  where (select hookline._sees_all_tenants()) or ev.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.event_log with (security_barrier) as
select * from hookline._event_log_rows();

create function hookline._audit_trail_rows()
returns table (
  audit_id bigint,
  recorded_at timestamp with time zone,
  session_user_name name,
  current_user_name name,
  acting_role name,
  action text,
  tenant_id text,
  target jsonb,
  reason text,
  before jsonb,
  after jsonb
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select l.audit_id, l.recorded_at, l.session_user_name, l.current_user_name, l.acting_role, l.action, l.tenant_id,
    l.target, hookline.mask_text(l.reason) as reason, hookline.mask_json(l.before) as before, hookline.mask_json(l.after) as after
  from hookline.audit_log l
  where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.audit_trail with (security_barrier) as
select * from hookline._audit_trail_rows();

create function hookline._circuit_states_rows()
returns table (
  target text,
  kind text,
  name text,
  tenant_id text,
  state text,
  is_forced boolean,
  open_until timestamp with time zone,
  consecutive_failures integer,
  window_requests integer,
  window_failures integer,
  changed_at timestamp with time zone,
  reason text
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select b.target, t.kind, t.name, t.tenant_id, b.state, b.is_forced, b.open_until,
    b.consecutive_failures, b.window_requests, b.window_failures, b.changed_at,
    hookline.mask_text(b.reason) as reason
  from hookline.circuit_breakers b
  join (
    select 'endpoint:' || e.endpoint_id as target, 'endpoint'::text as kind, e.name, e.tenant_id
    from hookline.endpoints e
    union all
    select 'sender:' || s.phone_number_id, 'sender', s.phone_number_id, s.tenant_id
    from hookline.senders s
  ) t on t.target = b.target
  where (select hookline._sees_all_tenants()) or t.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.circuit_states with (security_barrier) as
select * from hookline._circuit_states_rows();

create function hookline._outbox_messages_rows()
returns table (
  message_id bigint,
  tenant_id text,
  phone_number_id text,
  state text,
  recipient text,
  attempt_count integer,
  throttle_count integer,
  last_error_code integer,
  last_error text,
  created_at timestamp with time zone,
  next_attempt_at timestamp with time zone,
  sent_at timestamp with time zone,
  delivered_at timestamp with time zone,
  read_at timestamp with time zone,
  finished_at timestamp with time zone
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select o.message_id, o.tenant_id, o.phone_number_id, o.state::text as state,
    hookline.mask_phone(o.recipient) as recipient, o.attempt_count, o.throttle_count,
    o.last_error_code, hookline.mask_text(o.last_error) as last_error, o.created_at,
    o.next_attempt_at, o.sent_at, o.delivered_at, o.read_at, o.finished_at
  from hookline.outbox o
  where (select hookline._sees_all_tenants()) or o.tenant_id = any ((select hookline._mapped_tenants())::text[])
$$;

create or replace view hookline.outbox_messages with (security_barrier) as
select * from hookline._outbox_messages_rows();

comment on function hookline._dead_letter_queue_rows() is
  'Migration-owned, private. The rows of hookline.dead_letter_queue: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._live_deliveries_rows() is
  'Migration-owned, private. The rows of hookline.live_deliveries: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._endpoint_overview_rows() is
  'Migration-owned, private. The rows of hookline.endpoint_overview: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._attempt_log_rows() is
  'Migration-owned, private. The rows of hookline.attempt_log: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._event_log_rows() is
  'Migration-owned, private. The rows of hookline.event_log: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._audit_trail_rows() is
  'Migration-owned, private. The rows of hookline.audit_trail: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._circuit_states_rows() is
  'Migration-owned, private. The rows of hookline.circuit_states: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';
comment on function hookline._outbox_messages_rows() is
  'Migration-owned, private. The rows of hookline.outbox_messages: the caller''s tenants only, filtered before any predicate of the caller runs. Errors: none.';

revoke all on function hookline._dead_letter_queue_rows(), hookline._live_deliveries_rows(), hookline._endpoint_overview_rows(), hookline._attempt_log_rows(), hookline._event_log_rows(), hookline._audit_trail_rows(), hookline._circuit_states_rows(), hookline._outbox_messages_rows() from public;
grant execute on function hookline._dead_letter_queue_rows(), hookline._live_deliveries_rows(), hookline._endpoint_overview_rows(), hookline._attempt_log_rows(), hookline._event_log_rows(), hookline._audit_trail_rows(), hookline._circuit_states_rows(), hookline._outbox_messages_rows() to hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('view_operator_definer');

COMMIT;
