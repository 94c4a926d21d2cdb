create or replace function hookline.release(runner text, leases jsonb, now timestamptz default pg_catalog.now())
returns setof bigint
language plpgsql
security definer
set search_path = ''
-- Reads deliveries by key only. A plan made while the table was small read it sequentially, and
-- went on doing so once it had grown, until an analyze (docs/performance.md, "Plans that stay
-- good"): no sequential or bitmap scan, and no JIT. Generic plans from the first call: custom
-- plans, which know the arrays' lengths, looked cheaper and were made again on every call.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  v_count integer;
  v_ids bigint[];
  v_tokens uuid[];
  v_rows tid[];
begin
  if coalesce(release.runner, '') = '' or release.leases is null or pg_catalog.jsonb_typeof(release.leases) <> 'array' then
    raise exception using errcode = 'HL026', message = 'release needs a runner name and a JSON array of {delivery_id, lease_token}';
  end if;
  -- Lock order (docs/delivery.md): deliveries by id, like complete; nothing else is locked.
  select pg_catalog.array_agg(l.delivery_id), pg_catalog.array_agg(l.lease_token) into v_ids, v_tokens
  from pg_catalog.jsonb_to_recordset(release.leases) as l(delivery_id bigint, lease_token uuid);
  -- Locked by id, in a materialized CTE so that its only condition is the ids (the others
  -- stay outside: pushed into the scan, "in flight" would let the planner read the partial
  -- index of leases whole instead, with statistics that say the table is empty); of the
  -- versions locked (the lock keeps them current), those whose lease this runner still holds
  -- (any of the tokens given for the id: a list may name an earlier lease of it too). The
  -- update then reads them by row version, a TID scan.
  with locked as materialized (
    select d.ctid, d.delivery_id, d.lease_token, d.runner, d.state
    from hookline.deliveries d
    where d.delivery_id = any(v_ids)
    order by d.delivery_id
    for update of d
  )
  select pg_catalog.array_agg(d.ctid) into v_rows
  from locked d
  where (d.delivery_id, d.lease_token) in (select u.id, u.token from unnest(v_ids, v_tokens) as u(id, token))
    and d.runner = release.runner and d.state = 'in_flight';
  return query
  update hookline.deliveries d
  set state = case when d.attempt_count = 0 then 'pending' else 'retrying' end::hookline.delivery_state,
    lease_token = null, runner = null, next_attempt_at = release.now
  where d.ctid = any(v_rows)
  returning d.delivery_id;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform hookline._wake('hookline_deliveries');
  end if;
end
$$;

comment on function hookline.release(text, jsonb, timestamptz) is
  'Gives back leases a runner holds without an attempt (it is stopping and will not make the request, or abandons it unanswered): the deliveries are due again at now and waiting runners are notified. Leases no longer held are ignored. Returns the ids released. Errors: HL026 invalid argument.';

-- SECURITY DEFINER: runners have no table privileges; they give back leases only through this function.
revoke all on function hookline.release(text,jsonb,timestamp with time zone) from public;
grant execute on function hookline.release(text,jsonb,timestamp with time zone) to hookline_runner;
