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
as $$
declare
  -- * matches any text; everything else of the pattern is literal (% and _ too).
  v_like text := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    dead_letter_page.event_type, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%');
begin
  -- Walks the dead letters in id order by the primary key and stops at page_size matches,
  -- looking up each candidate's event by its key: a page costs what it returns, whatever the
  -- size of the queue (the masked view would read, join and mask every row first).
  return query
  select p.delivery_id, exists (
    select from hookline.events x where x.event_id = p.event_id and x.received_at = p.event_received_at)
  from (
    select l.delivery_id, l.event_id, l.event_received_at
    from hookline.dead_letters l
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
      and (not dead_letter_page.replayable or exists (
        select from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at))
    order by l.delivery_id
    limit dead_letter_page.page_size
  ) p
  order by p.delivery_id;
end
$$;

comment on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean) is
  'The ids of the caller''s dead letters that match every given filter (null: any), in id order after `after`, at most page_size (null: all), and whether each one''s event is still retained. event_type takes * for any text (whatsapp.message.*); since and until bound finished_at (until exclusive); replayable keeps only those whose event is retained. Read the rows from hookline.dead_letter_queue by these ids. Errors: none of its own.';

-- SECURITY DEFINER: operators and read-only roles have no table privileges; rows are scoped to the caller's tenants as in hookline.dead_letter_queue.
revoke all on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean) from public;
grant execute on function hookline.dead_letter_page(text, text, text, timestamptz, timestamptz, text, text, bigint, integer, boolean)
  to hookline_operator, hookline_readonly;
