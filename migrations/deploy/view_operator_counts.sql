-- Deploy hookline:view_operator_counts to pg
-- requires: view_operator_rows_by_key
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Counts of the operator views without the masking. Each masked view reads a SECURITY DEFINER
-- function that masks every row it returns (view_operator_definer), so a `count(*) ... group by
-- state` over a view masks every row of the caller's tenants only to count it: `hookline stats`
-- took 670 ms at 20,000 dead letters and 20,000 live deliveries, and a count of the dead letters
-- by state was 50 times the same count on the table. Counts, states, names, error classes,
-- error codes and times are what the views show unmasked, so these functions group the tables
-- themselves, after the same tenant filter, and mask nothing. One statement each; one read of
-- the table (a count reads every row it counts), the names by primary key per group.
--
-- And the three views that had no keyed function get one (live_delivery_rows,
-- endpoint_overview_rows, outbox_message_rows), as view_operator_rows_by_key did for the others:
-- sql/oldest_pending.sql read every live delivery (2.2 s at 900,000) for a page of 20, and
-- `hookline endpoints show NAME` counted every endpoint's deliveries to show one.

create function hookline.live_delivery_totals()
returns table (
  tenant_id text,
  endpoint text,
  state text,
  deliveries bigint,
  oldest_due_at timestamp with time zone
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select c.tenant_id, (select e.name from hookline.endpoints e where e.endpoint_id = c.endpoint_id) as endpoint,
    c.state::text as state, c.deliveries, c.oldest_due_at
  from (
    select d.tenant_id, d.endpoint_id, d.state, pg_catalog.count(*) as deliveries,
      pg_catalog.min(d.next_attempt_at) filter (where d.state <> 'in_flight' and d.next_attempt_at <= pg_catalog.now()) as oldest_due_at
    from hookline.deliveries d
    where (select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[])
    group by d.tenant_id, d.endpoint_id, d.state
  ) c
$$;

create function hookline.dead_letter_totals()
returns table (
  tenant_id text,
  endpoint text,
  state text,
  error_class text,
  dead_letters bigint,
  oldest timestamp with time zone,
  newest timestamp with time zone,
  not_replayable bigint
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select c.tenant_id, (select e.name from hookline.endpoints e where e.endpoint_id = c.endpoint_id) as endpoint,
    c.state, c.error_class, c.dead_letters, c.oldest, c.newest, c.not_replayable
  from (
    select l.tenant_id, l.endpoint_id, l.state::text as state,
      case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
      pg_catalog.count(*) as dead_letters, pg_catalog.min(l.finished_at) as oldest, pg_catalog.max(l.finished_at) as newest,
      pg_catalog.count(*) filter (where not exists (
        select from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
      )) as not_replayable
    from hookline.dead_letters l
    where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[])
    group by 1, 2, 3, 4
  ) c
$$;

create function hookline.outbox_totals(recent_since timestamp with time zone default pg_catalog.now() - interval '1 day')
returns table (
  tenant_id text,
  phone_number_id text,
  state text,
  last_error_code integer,
  messages bigint,
  oldest_live timestamp with time zone,
  recent bigint
)
language sql
stable
security definer
set search_path = ''
rows 100
as $$
  select o.tenant_id, o.phone_number_id, o.state::text as state, o.last_error_code, pg_catalog.count(*) as messages,
    pg_catalog.min(o.created_at) filter (where o.next_attempt_at is not null) as oldest_live,
    pg_catalog.count(*) filter (where o.created_at > outbox_totals.recent_since) as recent
  from hookline.outbox o
  where (select hookline._sees_all_tenants()) or o.tenant_id = any ((select hookline._mapped_tenants())::text[])
  group by 1, 2, 3, 4
$$;

create function hookline.attempt_totals(since timestamp with time zone default null)
returns table (
  tenant_id text,
  endpoint_id bigint,
  endpoint text,
  hour timestamp with time zone,
  outcome text,
  error_class text,
  attempts bigint,
  timed bigint,
  total_ms bigint,
  last_attempted_at timestamp with time zone
)
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  -- Through EXECUTE ... USING, as hookline.attempt_log_rows: `since` is a constant of the
  -- plan, so only the day partitions from it on are read, and a null folds away.
  return query execute $q$
  select c.tenant_id, c.endpoint_id, (select e.name from hookline.endpoints e where e.endpoint_id = c.endpoint_id) as endpoint,
    c.hour, c.outcome, c.error_class, c.attempts, c.timed, c.total_ms, c.last_attempted_at
  from (
    select a.tenant_id, a.endpoint_id, pg_catalog.date_trunc('hour', a.attempted_at) as hour, a.outcome,
      coalesce(a.error_class, 'http_' || a.status_code) as error_class, pg_catalog.count(*) as attempts,
      pg_catalog.count(a.duration_ms) as timed, pg_catalog.sum(a.duration_ms)::bigint as total_ms,
      pg_catalog.max(a.attempted_at) as last_attempted_at
    from hookline.attempts a
    where ($1 is null or a.attempted_at >= $1)
      and ((select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[]))
    group by 1, 2, 3, 4, 5
  ) c
  $q$ using attempt_totals.since;
end
$$;

-- The three views that had no keyed function (view_operator_rows_by_key made the others): the
-- same pattern, EXECUTE ... USING so null keys fold away and given ones are index conditions;
-- the views' functions become their "everything" call.

create function hookline.live_delivery_rows(
  delivery_ids bigint[] default null,
  of_tenant text default null,
  due_by timestamp with time zone default null,
  page_size integer default null
)
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
declare
  query text := $q$
  select d.delivery_id, d.tenant_id,
    (select e.name from hookline.endpoints e where e.endpoint_id = d.endpoint_id) as endpoint,
    d.state::text as state, d.next_attempt_at, d.attempt_count, d.generation, d.created_at, d.runner, d.event_id
  from hookline.deliveries d
  where ($1 is null or d.delivery_id = any ($1))
    and ($2 is null or d.tenant_id = $2)
    and ($3 is null or (d.state <> 'in_flight' and d.next_attempt_at <= $3))
    and ((select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$;
begin
  -- A page is the longest-waiting rows first; the whole view is in no order (no sort of it all).
  if live_delivery_rows.page_size is not null then
    query := query || ' order by d.next_attempt_at, d.delivery_id limit $4';
  end if;
  return query execute query
    using live_delivery_rows.delivery_ids, live_delivery_rows.of_tenant, live_delivery_rows.due_by,
      live_delivery_rows.page_size;
end
$$;

create function hookline.endpoint_overview_rows(of_name text)
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  -- By name, the two counts are of that endpoint only (each an index count).
  return query execute $q$
  select e.endpoint_id, e.name, e.tenant_id, pg_catalog.regexp_replace(e.url, '[?#].*$', '') as url, e.state,
    hookline.mask_text(e.paused_reason) as paused_reason, e.timeout_ms, e.max_in_flight,
    e.retry_schedule::text[] as retry_schedule, e.is_retrying_client_errors,
    (select pg_catalog.count(*) from hookline.deliveries d where d.endpoint_id = e.endpoint_id) as live_deliveries,
    (select pg_catalog.count(*) from hookline.dead_letters l where l.endpoint_id = e.endpoint_id) as dead_letters,
    e.created_at, e.updated_at
  from hookline.endpoints e
  where ($1 is null or e.name = $1)
    and ((select hookline._sees_all_tenants()) or e.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using endpoint_overview_rows.of_name;
end
$$;

create function hookline.outbox_message_rows(message_ids bigint[])
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  return query execute $q$
  select o.message_id, o.tenant_id, o.phone_number_id, o.state::text as state,
    hookline.mask_phone(o.recipient) as recipient, o.attempt_count, o.throttle_count,
    o.last_error_code, hookline.mask_text(o.last_error) as last_error, o.created_at,
    o.next_attempt_at, o.sent_at, o.delivered_at, o.read_at, o.finished_at
  from hookline.outbox o
  where ($1 is null or o.message_id = any ($1))
    and ((select hookline._sees_all_tenants()) or o.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using outbox_message_rows.message_ids;
end
$$;

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
  select * from hookline.live_delivery_rows()
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
  select * from hookline.endpoint_overview_rows(null)
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
  select * from hookline.outbox_message_rows(null)
$$;

comment on function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer) is
  'Migration-owned. The rows of hookline.live_deliveries with these delivery ids (null: all), of this tenant (null: any), due by due_by and not in flight (null: any), the caller''s tenants only; with page_size, the longest-waiting page_size rows first (null: all, in no order). Errors: none.';
comment on function hookline.endpoint_overview_rows(text) is
  'Migration-owned. The rows of hookline.endpoint_overview of the endpoint with this name (null: all), the caller''s tenants only, masked; the counts are of the endpoints returned only. Errors: none.';
comment on function hookline.outbox_message_rows(bigint[]) is
  'Migration-owned. The rows of hookline.outbox_messages with these message ids (null: all), the caller''s tenants only, masked; looked up by the primary key. Errors: none.';
comment on function hookline.live_delivery_totals() is
  'Migration-owned. hookline.live_deliveries counted per tenant, endpoint and state, with the oldest due time of rows not in flight, the caller''s tenants only; reads the table, masks nothing. Errors: none.';
comment on function hookline.dead_letter_totals() is
  'Migration-owned. hookline.dead_letter_queue counted per tenant, endpoint, state and error class, with the oldest and newest finish and how many lost their event (not replayable), the caller''s tenants only; reads the table, masks nothing. Errors: none.';
comment on function hookline.attempt_totals(timestamp with time zone) is
  'Migration-owned. hookline.attempt_log counted per tenant, endpoint, hour, outcome and error class (the error class, else http_<status>), with how many were timed, their total duration and the latest, for attempts made at or after since (null: all), the caller''s tenants only; reads only the day partitions from since on, masks nothing. Errors: none.';
comment on function hookline.outbox_totals(timestamp with time zone) is
  'Migration-owned. hookline.outbox_messages counted per tenant, sending number, state and last error code, with the oldest live message and how many were created after recent_since (default: the last day), the caller''s tenants only; reads the table, masks nothing. Errors: none.';

revoke all on function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer), hookline.endpoint_overview_rows(text), hookline.outbox_message_rows(bigint[]), hookline.live_delivery_totals(), hookline.dead_letter_totals(), hookline.attempt_totals(timestamp with time zone), hookline.outbox_totals(timestamp with time zone) from public;
grant execute on function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer), hookline.endpoint_overview_rows(text), hookline.outbox_message_rows(bigint[]), hookline.live_delivery_totals(), hookline.dead_letter_totals(), hookline.attempt_totals(timestamp with time zone), hookline.outbox_totals(timestamp with time zone) to hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('view_operator_counts');

COMMIT;
