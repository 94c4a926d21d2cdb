create or replace function hookline.wake_due_retries(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
-- Index reads only: a plan made while the deliveries were drained (statistics of 0 pages)
-- read them sequentially, every waiting delivery once they had grown, until an analyze.
set enable_seqscan = off
set enable_bitmapscan = off
-- No JIT: a scan the settings above disable costs 10^10, past jit_above_cost, and a plan with
-- one would be compiled on every call (tens to hundreds of ms).
set jit = off
as $$
begin
  -- A backstop only: runners also sleep until hookline.next_due() and poll slowly.
  -- Per endpoint, its oldest entries of (endpoint_id, next_attempt_at): the cost follows the
  -- endpoints, not the backlog (a scan for a due row read every waiting one first). The order
  -- by keeps every plan on that index: without it the generic plan (a runner's session runs
  -- the job more than five times) read the deliveries in heap order until a due row came.
  -- Only the active endpoints (endpoints_active_idx): a paused endpoint keeps its backlog, which
  -- no runner may claim, and woke them every minute for nothing.
  if exists (
    select from hookline.endpoints e
    cross join lateral (
      select from hookline.deliveries d
      where d.endpoint_id = e.endpoint_id and d.next_attempt_at <= wake_due_retries.now
        and d.state in ('pending', 'retrying')
      order by d.next_attempt_at
      limit 1
    ) x
    where e.state = 'active'
  ) then
    perform pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}');
    return 'woke the runners: deliveries are due';
  end if;
  return 'nothing due';
end
$$;

comment on function hookline.wake_due_retries(timestamptz) is
  'Job. Notifies the runners (channel hookline_deliveries) when pending or retrying deliveries of an active endpoint are due. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.wake_due_retries(timestamp with time zone) from public;
