create or replace function hookline.rescue_leases(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
-- It reads the in-flight rows (deliveries_in_flight_idx) whose lease has expired: index reads
-- by design. A plan made while the statistics said deliveries was empty (an analyze during a
-- bulk insert) read the whole table instead, until the next analyze: no sequential or bitmap
-- scan, and no JIT.
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  -- Bound on one run's work; the job runs every minute.
  c_max_rows constant integer := 10000;
  v_rescued integer;
begin
  -- claim already takes an in_flight row whose lease expired (its next_attempt_at is the lease
  -- expiry); this makes the state say so, so operators do not see work "in flight" on a dead
  -- runner, and wakes the runners. The old runner's late complete no longer matches the
  -- lease token and is recorded as a stale attempt.
  with expired as (
    select d.delivery_id
    from hookline.deliveries d
    where d.state = 'in_flight' and d.next_attempt_at <= rescue_leases.now
    order by d.next_attempt_at
    limit c_max_rows
    for update skip locked
  )
  update hookline.deliveries d
  set state = 'retrying', lease_token = null, runner = null
  from expired e
  where d.delivery_id = e.delivery_id;
  get diagnostics v_rescued = row_count;

  if v_rescued > 0 then
    perform hookline._wake('hookline_deliveries');
  end if;
  return format('rescued %s expired leases', v_rescued);
end
$$;

comment on function hookline.rescue_leases(timestamptz) is
  'Job. Moves in_flight deliveries whose lease expired before now back to retrying (due at once, lease cleared; at most 10,000 a run) and notifies waiting runners. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.rescue_leases(timestamp with time zone) from public;
