-- Revert hookline:view_operator_counts from pg

BEGIN;

set local lock_timeout = '5s';

-- The views' functions as view_operator_definer made them; then the new functions go.

create or replace function hookline._live_deliveries_rows()
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

create or replace function hookline._endpoint_overview_rows()
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

create or replace function hookline._outbox_messages_rows()
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

drop function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer);
drop function hookline.endpoint_overview_rows(text);
drop function hookline.outbox_message_rows(bigint[]);
drop function hookline.live_delivery_totals();
drop function hookline.dead_letter_totals();
drop function hookline.attempt_totals(timestamp with time zone);
drop function hookline.outbox_totals(timestamp with time zone);

delete from hookline.schema_changes where change = 'view_operator_counts';

COMMIT;
