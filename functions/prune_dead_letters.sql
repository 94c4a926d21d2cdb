create or replace function hookline.prune_dead_letters(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_pruned bigint;
begin
  -- Oldest first per tenant, by the index on (tenant_id, finished_at), in batches of 10,000 for
  -- at most 20 s a run (hookline._prune): the cost follows what is pruned. The ids as an array
  -- (= any) reach the rows through the primary key: as `in (subquery)`, guessed at the batch's
  -- 10,000, the plan hash-joined a sequential scan of every dead letter.
  v_pruned := hookline._prune($q$
    delete from hookline.dead_letters l
    where l.delivery_id = any (array(
      select x.delivery_id
      from hookline.tenants t
      cross join lateral (
        select d.delivery_id from hookline.dead_letters d
        where d.tenant_id = t.tenant_id and d.finished_at < $2 - t.dead_letter_retention
        order by d.finished_at
        limit $1
      ) x
      limit $1
    ))$q$, prune_dead_letters.now, interval '20 seconds');
  return format('pruned %s dead letters', v_pruned);
end
$$;

comment on function hookline.prune_dead_letters(timestamptz) is
  'Job. Deletes dead letters (dead and discarded) that ended longer ago than their tenant''s dead_letter_retention (default 30 days), oldest first, in batches of 10,000 for at most 20 s a run; their events'' days are then free for apply_retention. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.prune_dead_letters(timestamp with time zone) from public;
