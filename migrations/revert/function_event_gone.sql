-- Revert hookline:function_event_gone from pg

BEGIN;

set local lock_timeout = '5s';

-- dead_letter_totals as view_operator_bounded_reads made it; then _event_gone goes
-- (dead_letter_page, in functions/, is redeployed with the revert's checkout).

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

comment on function hookline.dead_letter_totals() is
  'Migration-owned. hookline.dead_letter_queue counted per tenant, endpoint, state and error class, with the oldest and newest finish and how many lost their event (not replayable: its day partition dropped; only dead letters whose day has no partition are looked up), the caller''s tenants only; reads the table, masks nothing. Errors: none.';

drop function hookline._event_gone(bigint, timestamp with time zone);

delete from hookline.schema_changes where change = 'function_event_gone';

COMMIT;
