create or replace function hookline.dead_letter_page(
  tenant text default null,
  endpoint text default null,
  event_type text default null,
  since timestamptz default null,
  until timestamptz default null,
  error_class text default null,
  state text default null,
  after bigint default 0,
  page_size integer default 50,
  replayable boolean default false
)
returns table (delivery_id bigint, has_event boolean)
language plpgsql
stable
security definer
set search_path = ''
-- No JIT: the planner costs _event_gone's lookup for every row it reads (a CASE costs all its
-- arms) while only a dead letter outside the day partitions runs it; a whole-queue read (the
-- dry run's count, a replay's walk) crossed jit_above_cost and compiled for 0.2-0.3 s to read
-- 100,000 rows in 0.05 s.
set jit = off
as $$
declare
  -- * matches any text; everything else of the pattern is literal (% and _ too).
  v_like text := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    dead_letter_page.event_type, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%');
begin
  -- Walks the dead letters in id order by the primary key and stops at page_size matches: a
  -- page costs what it returns, whatever the size of the queue (the masked view would read,
  -- join and mask every row first). Whether a dead letter's event is still retained comes from
  -- hookline._event_gone (inlined): an event whose day has its partition is there; only one
  -- outside the day partitions is looked up by its key.
  return query
  select p.delivery_id, p.replayable or not g.gone
  from (
    select l.delivery_id, l.event_id, l.event_received_at, dead_letter_page.replayable
    from hookline.dead_letters l
    cross join lateral hookline._event_gone(l.event_id, l.event_received_at) g(gone)
    where ((select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]))
      and l.delivery_id > dead_letter_page.after
      and (dead_letter_page.tenant is null or l.tenant_id = dead_letter_page.tenant)
      and (dead_letter_page.endpoint is null or l.endpoint_id in (
        select e.endpoint_id from hookline.endpoints e where e.name = dead_letter_page.endpoint))
      and (dead_letter_page.state is null or l.state::text = dead_letter_page.state)
      and (dead_letter_page.since is null or l.finished_at >= dead_letter_page.since)
      and (dead_letter_page.until is null or l.finished_at < dead_letter_page.until)
      -- The class as hookline.dead_letter_queue shows it: complete stores it (error_class).
      and (dead_letter_page.error_class is null
           or case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end
              = dead_letter_page.error_class)
      and (dead_letter_page.event_type is null or exists (
        select from hookline.events x
        where x.event_id = l.event_id and x.received_at = l.event_received_at and x.event_type like v_like))
      and (not dead_letter_page.replayable or not g.gone)
    order by l.delivery_id
    limit dead_letter_page.page_size
  ) p
  -- Whether the page's rows still have their event (replay skips the others), for these rows only.
  cross join lateral hookline._event_gone(p.event_id, p.event_received_at) g(gone)
  order by p.delivery_id;
end
$$;

comment on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean) is
  'The ids of the caller''s dead letters that match every given filter (null: any), in id order after `after`, at most page_size (null: all), and whether each one''s event is still retained. event_type takes * for any text (whatsapp.message.*); since and until bound finished_at (until exclusive); replayable keeps only those whose event is retained. Read the rows from hookline.dead_letter_queue by these ids. Errors: none of its own.';

-- SECURITY DEFINER: operators and read-only roles have no table privileges; rows are scoped to the caller's tenants as in hookline.dead_letter_queue.
revoke all on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean) from public;
grant execute on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean)
  to hookline_operator, hookline_readonly;
