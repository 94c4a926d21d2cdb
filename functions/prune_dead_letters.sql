create or replace function hookline.prune_dead_letters(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_pruned bigint;
begin
  -- Oldest first per tenant, by the index on (tenant_id, finished_at); bounded per run.
  with doomed as (
    select l.delivery_id
    from hookline.tenants t
    cross join lateral (
      select l.delivery_id from hookline.dead_letters l
      where l.tenant_id = t.tenant_id and l.finished_at < prune_dead_letters.now - t.dead_letter_retention
      order by l.finished_at
      limit 50000
    ) l
    limit 50000
  ), pruned as (
    delete from hookline.dead_letters l using doomed d where l.delivery_id = d.delivery_id
    returning 1
  )
  select pg_catalog.count(*) into v_pruned from pruned;
  return format('pruned %s dead letters', v_pruned);
end
$$;

comment on function hookline.prune_dead_letters(timestamptz) is
  'Job. Deletes dead letters (dead and discarded) that ended longer ago than their tenant''s dead_letter_retention (default 30 days), at most 50,000 a run, oldest first; their events'' days are then free for apply_retention. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.prune_dead_letters(timestamp with time zone) from public;
