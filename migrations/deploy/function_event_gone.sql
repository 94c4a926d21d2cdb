-- Deploy hookline:function_event_gone to pg
-- requires: view_operator_bounded_reads
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- One place for the rule that view_operator_bounded_reads wrote into dead_letter_totals: an
-- event leaves hookline.events only with its day partition (apply_retention drops whole days
-- through _drop_partition; no function deletes an event row, and _create_partition moves rows
-- out of events_default into the new day within one transaction, keys unchanged). So an event
-- whose day has its partition is still there; only the others are looked up (their day was
-- dropped, or never made: then the event may sit in events_default).
--
-- hookline._event_gone(event_id, received_at) answers it for one event key. Plain SQL, no SET
-- clause, set-returning, one statement: the planner inlines it into the caller's statement
-- (a lateral call), where the day partitions become an initplan read once per statement and
-- the lookup a subplan run only for a key outside them. dead_letter_totals' not_replayable and
-- dead_letter_page's replayable filter and has_event read it.

create function hookline._event_gone(event_id bigint, received_at timestamp with time zone)
returns setof boolean
language sql
stable
as $$
  select case
    -- The events' day partitions (events_pYYYYMMDD holds that UTC day), as one multirange.
    when (select coalesce(pg_catalog.range_agg(pg_catalog.tstzrange(
                 pg_catalog.timezone('UTC', d.day::timestamp),
                 pg_catalog.timezone('UTC', (d.day operator(pg_catalog.+) 1)::timestamp))),
               '{}'::pg_catalog.tstzmultirange)
          from (
            select pg_catalog.to_date(pg_catalog.substring(c.relname, '^events_p(\d{8})$'), 'YYYYMMDD') as day
            from pg_catalog.pg_inherits i
            join pg_catalog.pg_class c on c.oid operator(pg_catalog.=) i.inhrelid
            where i.inhparent operator(pg_catalog.=) 'hookline.events'::pg_catalog.regclass
              and c.relname operator(pg_catalog.~) '^events_p\d{8}$'
          ) d) operator(pg_catalog.@>) _event_gone.received_at then false
    -- A scalar subquery, so that it stays a lookup by key (an EXISTS may become a hashed
    -- subplan over every event).
    else (select true from hookline.events x
          where x.event_id operator(pg_catalog.=) _event_gone.event_id
            and x.received_at operator(pg_catalog.=) _event_gone.received_at) is null
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
-- No JIT, as in dead_letter_page: the plan costs the lookup for every dead letter.
set jit = off
rows 100
as $$
  select c.tenant_id, (select e.name from hookline.endpoints e where e.endpoint_id = c.endpoint_id) as endpoint,
    c.state, c.error_class, c.dead_letters, c.oldest, c.newest, c.not_replayable
  from (
    select l.tenant_id, l.endpoint_id, l.state::text as state,
      case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
      pg_catalog.count(*) as dead_letters, pg_catalog.min(l.finished_at) as oldest, pg_catalog.max(l.finished_at) as newest,
      pg_catalog.count(*) filter (where g.gone) as not_replayable
    from hookline.dead_letters l
    cross join lateral hookline._event_gone(l.event_id, l.event_received_at) g(gone)
    where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[])
    group by 1, 2, 3, 4
  ) c
$$;

comment on function hookline._event_gone(bigint, timestamp with time zone) is
  'Migration-owned. Inlinable (no SET clause), private: one row, whether the event with this key is gone (true) or still in hookline.events (false). An event whose day has its partition (events_pYYYYMMDD) is there (events leave only with their day''s partition); only a key outside the day partitions is looked up. For dead_letter_totals and dead_letter_page. Errors: none of its own.';
comment on function hookline.dead_letter_totals() is
  'Migration-owned. hookline.dead_letter_queue counted per tenant, endpoint, state and error class, with the oldest and newest finish and how many lost their event (not replayable: its day partition dropped; only dead letters whose day has no partition are looked up, by hookline._event_gone), the caller''s tenants only; reads the table, masks nothing. Errors: none.';

-- Owner only (the SECURITY DEFINER functions call it): no grants.
revoke all on function hookline._event_gone(bigint, timestamp with time zone) from public;

insert into hookline.schema_changes (change) values ('function_event_gone');

COMMIT;
