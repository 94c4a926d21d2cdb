-- Deploy hookline:view_operator_bounded_reads to pg
-- requires: view_operator_counts
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- The operators' reads that view_operator_counts left bounded by the history:
--
-- live_delivery_rows' page (sql/oldest_pending.sql) sorted every due live delivery of the
-- caller's tenants to show 20 (1 s at 900,000): no index orders the deliveries by
-- next_attempt_at across endpoints, and the hot table gets no new index for an operator's
-- read. The page is now the classic top-N over an index per group: for each of the caller's
-- endpoints its first page_size due rows by (endpoint_id, next_attempt_at), then the merge of
-- those heads. Same rows, same order (ties by delivery id): a delivery's tenant is its
-- endpoint's (ingest copies it; an endpoint's tenant never changes), and the tenant filters
-- stay on the deliveries too.
--
-- dead_letter_totals probed each dead letter's event to count the ones that cannot be replayed
-- (1.8 s at 100,000 dead letters). An event leaves hookline.events only with its day
-- partition (apply_retention drops whole days through _drop_partition; no function deletes an
-- event row, and _create_partition moves rows out of events_default into the new day within
-- one transaction, keys unchanged). So a dead letter whose event's day has a partition still
-- has its event; only the others are probed (their day was dropped, or never made: then the
-- event may sit in events_default). A day's partition is known by its derived name, as
-- apply_retention finds them.
--
-- circuit_states gets a keyed function (circuit_state_rows), as the other views did.

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
  if live_delivery_rows.page_size is null then
    -- The whole view is in no order (no sort of it all).
    null;
  elsif live_delivery_rows.delivery_ids is not null then
    query := query || ' order by d.next_attempt_at, d.delivery_id limit $4';
  else
    -- A page of the longest waiting: each endpoint's first $4 by its (endpoint_id,
    -- next_attempt_at) index, then the first $4 of those heads. Rows tied on next_attempt_at
    -- at an endpoint's head are read to order them by id.
    query := $q$
    select d.delivery_id, d.tenant_id, e.name as endpoint, d.state::text as state, d.next_attempt_at,
      d.attempt_count, d.generation, d.created_at, d.runner, d.event_id
    from hookline.endpoints e
    cross join lateral (
      select d.*
      from hookline.deliveries d
      where d.endpoint_id = e.endpoint_id
        and ($2 is null or d.tenant_id = $2)
        and ($3 is null or (d.state <> 'in_flight' and d.next_attempt_at <= $3))
        and ((select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[]))
      order by d.next_attempt_at, d.delivery_id
      limit $4
    ) d
    where ($2 is null or e.tenant_id = $2)
      and ((select hookline._sees_all_tenants()) or e.tenant_id = any ((select hookline._mapped_tenants())::text[]))
    order by d.next_attempt_at, d.delivery_id
    limit $4
    $q$;
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
      -- Only a dead letter outside the day partitions is looked up (its event may sit in
      -- events_default); a scalar subquery, so that it stays a lookup per such row.
      pg_catalog.count(*) filter (where case
        when p.days operator(pg_catalog.@>) l.event_received_at then false
        else (select true from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at) is null
      end) as not_replayable
    from hookline.dead_letters l
    -- The events' day partitions (events_pYYYYMMDD holds that UTC day), as one multirange.
    cross join (
      select coalesce(pg_catalog.range_agg(pg_catalog.tstzrange(d.day::timestamp at time zone 'UTC', (d.day + 1)::timestamp at time zone 'UTC')),
        '{}'::pg_catalog.tstzmultirange) as days
      from (
        select pg_catalog.to_date(pg_catalog.substring(c.relname, '^events_p(\d{8})$'), 'YYYYMMDD') as day
        from pg_catalog.pg_inherits i
        join pg_catalog.pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'hookline.events'::pg_catalog.regclass and c.relname operator(pg_catalog.~) '^events_p\d{8}$'
      ) d
    ) p
    where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[])
    group by 1, 2, 3, 4
  ) c
$$;

create function hookline.circuit_state_rows(targets text[])
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
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  -- By target (endpoint:<id>, sender:<phone number id>): the breaker by its primary key, its
  -- endpoint or sender by theirs.
  return query execute $q$
  select b.target, t.kind, t.name, t.tenant_id, b.state, b.is_forced, b.open_until,
    b.consecutive_failures, b.window_requests, b.window_failures, b.changed_at,
    hookline.mask_text(b.reason) as reason
  from hookline.circuit_breakers b
  join (
    select 'endpoint:' || e.endpoint_id as target, 'endpoint'::text as kind, e.name, e.tenant_id
    from hookline.endpoints e
    where $1 is null or e.endpoint_id = any (array(
      select pg_catalog.substring(k, '^endpoint:(\d{1,18})$')::bigint from pg_catalog.unnest($1) k))
    union all
    select 'sender:' || s.phone_number_id, 'sender', s.phone_number_id, s.tenant_id
    from hookline.senders s
    where $1 is null or s.phone_number_id = any (array(
      select pg_catalog.substring(k, '^sender:(.*)$') from pg_catalog.unnest($1) k))
  ) t on t.target = b.target
  where ($1 is null or b.target = any ($1))
    and ((select hookline._sees_all_tenants()) or t.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  $q$ using circuit_state_rows.targets;
end
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
  select * from hookline.circuit_state_rows(null)
$$;

comment on function hookline.live_delivery_rows(bigint[], text, timestamp with time zone, integer) is
  'Migration-owned. The rows of hookline.live_deliveries with these delivery ids (null: all), of this tenant (null: any), due by due_by and not in flight (null: any), the caller''s tenants only; with page_size, the longest-waiting page_size rows first, ties by delivery id (null: all, in no order), read as each endpoint''s first page_size by its index. Errors: none.';
comment on function hookline.dead_letter_totals() is
  'Migration-owned. hookline.dead_letter_queue counted per tenant, endpoint, state and error class, with the oldest and newest finish and how many lost their event (not replayable: its day partition dropped; only dead letters whose day has no partition are looked up), the caller''s tenants only; reads the table, masks nothing. Errors: none.';
comment on function hookline.circuit_state_rows(text[]) is
  'Migration-owned. The rows of hookline.circuit_states with these targets (endpoint:<id>, sender:<phone number id>; null: all), the caller''s tenants only, masked; looked up by the primary keys. Errors: none.';

revoke all on function hookline.circuit_state_rows(text[]) from public;
grant execute on function hookline.circuit_state_rows(text[]) to hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('view_operator_bounded_reads');

COMMIT;
