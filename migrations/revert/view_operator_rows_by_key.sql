-- Revert hookline:view_operator_rows_by_key from pg

BEGIN;

set local lock_timeout = '5s';

-- The views' functions as view_operator_definer made them; then the keyed functions go.

create or replace function hookline._dead_letter_queue_rows()
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

create or replace function hookline._event_log_rows()
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

create or replace function hookline._attempt_log_rows()
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

create or replace function hookline._audit_trail_rows()
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

drop function hookline.dead_letter_rows(bigint[]);
drop function hookline.event_log_rows(bigint, timestamp with time zone);
drop function hookline.attempt_log_rows(bigint, timestamp with time zone);
drop function hookline.audit_trail_page(text, text, timestamp with time zone, integer);

delete from hookline.schema_changes where change = 'view_operator_rows_by_key';

COMMIT;
