-- Revert hookline:view_operator_bounded_reads from pg

BEGIN;

set local lock_timeout = '5s';

-- live_delivery_rows and dead_letter_totals as view_operator_counts made them, circuit_states'
-- function as view_operator_definer made it; then circuit_state_rows goes.

create or replace function hookline.live_delivery_rows(
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

create or replace function hookline.dead_letter_totals()
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

create or replace function hookline._circuit_states_rows()
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

comment on function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer) is
  'Migration-owned. The rows of hookline.live_deliveries with these delivery ids (null: all), of this tenant (null: any), due by due_by and not in flight (null: any), the caller''s tenants only; with page_size, the longest-waiting page_size rows first (null: all, in no order). Errors: none.';
comment on function hookline.dead_letter_totals() is
  'Migration-owned. hookline.dead_letter_queue counted per tenant, endpoint, state and error class, with the oldest and newest finish and how many lost their event (not replayable), the caller''s tenants only; reads the table, masks nothing. Errors: none.';

drop function hookline.circuit_state_rows(text[]);

delete from hookline.schema_changes where change = 'view_operator_bounded_reads';

COMMIT;
