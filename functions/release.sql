create or replace function hookline.release(runner text, leases jsonb, now timestamptz default pg_catalog.now())
returns setof bigint
language plpgsql
security definer
set search_path = ''
-- Reads deliveries by key only. A plan made while the table was small read it sequentially, and
-- went on doing so once it had grown, until an analyze (docs/performance.md, "Plans that stay
-- good"): no sequential or bitmap scan, and no JIT.
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  v_count integer;
begin
  if coalesce(release.runner, '') = '' or release.leases is null or pg_catalog.jsonb_typeof(release.leases) <> 'array' then
    raise exception using errcode = 'HL026', message = 'release needs a runner name and a JSON array of {delivery_id, lease_token}';
  end if;
  -- Lock order (docs/delivery.md): deliveries by id, like complete; nothing else is locked.
  perform from hookline.deliveries d
  where d.delivery_id in (select l.delivery_id from pg_catalog.jsonb_to_recordset(release.leases) as l(delivery_id bigint))
  order by d.delivery_id
  for update of d;
  return query
  update hookline.deliveries d
  set state = case when d.attempt_count = 0 then 'pending' else 'retrying' end::hookline.delivery_state,
    lease_token = null, runner = null, next_attempt_at = release.now
  from pg_catalog.jsonb_to_recordset(release.leases) as l(delivery_id bigint, lease_token uuid)
  where d.delivery_id = l.delivery_id and d.lease_token = l.lease_token
    and d.runner = release.runner and d.state = 'in_flight'
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
