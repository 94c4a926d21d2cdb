-- Deploy hookline:view_operator_rows_by_key to pg
-- requires: view_operator_definer
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Since view_operator_definer each operator view reads a SECURITY DEFINER function that the
-- planner cannot see into (no EXPLAIN inference), so a caller's `where delivery_id = x` reads
-- and masks every row of the caller's tenants first: `hookline dlq show` read and masked every
-- dead letter, every event (mask_payload, ~0.1 ms each) and every attempt to show one of each,
-- and `hookline audit list` every audit row. Four functions take the key as an argument, so
-- the lookup runs inside them, by index, after the tenant filter and before any masking; the
-- views' functions become their "everything" call (null keys), so each view's columns and
-- masking stay written once. Each runs its query through EXECUTE ... USING: planned on each
-- call with the arguments as constants, so a null key folds away and a given one is an index
-- condition (a cached generic plan cannot take `$1 is null or id = $1` as one; and a
-- function-level plan_cache_mode = force_custom_plan would also re-plan every statement of
-- mask_payload for every row, ten times slower for the views). Each reads one table by its
-- key; the names it shows (endpoint, event type, source) are subqueries by primary key, not
-- joins: a join offers the planner other indexes' orders (for a merge join), and with
-- statistics that say a table is empty it took a whole read of one of them over the key.

create function hookline.dead_letter_rows(delivery_ids bigint[])
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  return query execute $q$
  select l.delivery_id, l.tenant_id,
    (select e.name from hookline.endpoints e where e.endpoint_id = l.endpoint_id) as endpoint,
    (select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at) as event_type,
    l.state::text as state,
    case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
    hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
    l.created_at, l.finished_at, l.event_id, l.event_received_at
  from hookline.dead_letters l
  where ($1 is null or l.delivery_id = any ($1))
    and ((select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using dead_letter_rows.delivery_ids;
end
$$;

create function hookline.event_log_rows(of_event_id bigint, of_received_at timestamp with time zone)
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  return query execute $q$
  select ev.event_id, ev.received_at, ev.tenant_id,
    (select s.name from hookline.sources s where s.source_id = ev.source_id) as source,
    hookline.mask_external_id(ev.external_id) as external_id, ev.event_type, ev.occurred_at,
    ev.phone_number_id, hookline.mask_phone(ev.wa_id) as wa_id, hookline.mask_payload(ev.payload) as payload
  from hookline.events ev
  where ($1 is null or ev.event_id = $1)
    and ($2 is null or ev.received_at = $2)
    and ((select hookline._sees_all_tenants()) or ev.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using event_log_rows.of_event_id, event_log_rows.of_received_at;
end
$$;

create function hookline.attempt_log_rows(of_delivery_id bigint default null, since timestamp with time zone default null)
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  return query execute $q$
  select a.attempt_id, a.attempted_at, a.delivery_id, a.endpoint_id, a.tenant_id, a.generation, a.attempt_number,
    a.status_code, a.duration_ms, a.outcome, a.error_class, hookline.mask_text(a.response_excerpt) as response_excerpt
  from hookline.attempts a
  where ($1 is null or a.delivery_id = $1)
    and ($2 is null or a.attempted_at >= $2)
    and ((select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using attempt_log_rows.of_delivery_id, attempt_log_rows.since;
end
$$;

create function hookline.audit_trail_page(
  of_tenant text default null,
  of_action text default null,
  since timestamp with time zone default null,
  page_size integer default 50
)
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
language plpgsql
stable
security definer
set search_path = ''
set enable_seqscan = off
set enable_bitmapscan = off
rows 100
as $$
begin
  -- Newest first, by the primary key, stopping at page_size matches: a page masks what it
  -- returns, whatever the length of the log. With statistics that said the log was small, a
  -- read of it all and a sort looked cheaper than the walk: the settings above leave the walk.
  return query execute $q$
  select l.audit_id, l.recorded_at, l.session_user_name, l.current_user_name, l.acting_role, l.action, l.tenant_id,
    l.target, hookline.mask_text(l.reason) as reason, hookline.mask_json(l.before) as before, hookline.mask_json(l.after) as after
  from hookline.audit_log l
  where ($1 is null or l.tenant_id = $1)
    and ($2 is null or l.action = $2)
    and ($3 is null or l.recorded_at >= $3)
    and ((select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  order by l.audit_id desc
  limit $4
  $q$ using audit_trail_page.of_tenant, audit_trail_page.of_action, audit_trail_page.since, audit_trail_page.page_size;
end
$$;

-- The views' functions: the same rows as before, from the one definition of each.
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
  select * from hookline.dead_letter_rows(null)
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
  select * from hookline.event_log_rows(null, null)
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
  select * from hookline.attempt_log_rows()
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
  select * from hookline.audit_trail_page(page_size => null)
$$;

comment on function hookline.dead_letter_rows(bigint[]) is
  'Migration-owned. The rows of hookline.dead_letter_queue with these delivery ids (null: all), the caller''s tenants only, masked; looked up by the primary key. Errors: none.';
comment on function hookline.event_log_rows(bigint, timestamp with time zone) is
  'Migration-owned. The rows of hookline.event_log with this event id and received_at (null: any), the caller''s tenants only, masked; looked up by the key in the one partition received_at names. Errors: none.';
comment on function hookline.attempt_log_rows(bigint, timestamp with time zone) is
  'Migration-owned. The rows of hookline.attempt_log of this delivery (null: any) made at or after since (null: any), the caller''s tenants only, masked; looked up by each partition''s delivery index, and only in the day partitions since names. Errors: none.';
comment on function hookline.audit_trail_page(text, text, timestamp with time zone, integer) is
  'Migration-owned. The newest page_size rows of hookline.audit_trail (null: all) of this tenant, action and recorded at or after since (null: any), the caller''s tenants only, masked, newest first; walks the log by its primary key and stops at page_size matches. Errors: none.';

revoke all on function hookline.dead_letter_rows(bigint[]), hookline.event_log_rows(bigint, timestamp with time zone), hookline.attempt_log_rows(bigint, timestamp with time zone), hookline.audit_trail_page(text, text, timestamp with time zone, integer) from public;
grant execute on function hookline.dead_letter_rows(bigint[]), hookline.event_log_rows(bigint, timestamp with time zone), hookline.attempt_log_rows(bigint, timestamp with time zone), hookline.audit_trail_page(text, text, timestamp with time zone, integer) to hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('view_operator_rows_by_key');

COMMIT;
