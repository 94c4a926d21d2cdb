create or replace function hookline.release_messages(runner text, leases jsonb, now timestamptz default pg_catalog.now())
returns setof bigint
language plpgsql
set search_path = ''
security definer
-- Reads the outbox by key only. A plan made while the table was small read it sequentially, and
-- went on doing so once it had grown, until an analyze (docs/performance.md, "Plans that stay
-- good"): no sequential or bitmap scan, and no JIT.
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
  if coalesce(release_messages.runner, '') = '' or release_messages.leases is null
     or pg_catalog.jsonb_typeof(release_messages.leases) <> 'array' then
    raise exception using errcode = 'HL064', message = 'release_messages needs a runner name and a JSON array of {message_id, lease_token}';
  end if;
  -- Lock order (docs/outbound.md): the messages by id, as complete_messages does (a late result
  -- of another runner for the same messages locks them too); nothing else is locked.
  select pg_catalog.array_agg(l.message_id), pg_catalog.array_agg(l.lease_token) into v_ids, v_tokens
  from pg_catalog.jsonb_to_recordset(release_messages.leases) as l(message_id bigint, lease_token uuid);
  -- Locked by id, as release does: in a materialized CTE whose only condition is the ids (the
  -- lease conditions stay outside it, where no index can be chosen for them); of the versions
  -- locked (the lock keeps them current), those whose lease this runner still holds (any of the
  -- tokens given for the id: a list may name an earlier lease of it too). The update then reads
  -- them by row version, a TID scan.
  with locked as materialized (
    select o.ctid, o.message_id, o.lease_token, o.runner, o.state
    from hookline.outbox o
    where o.message_id = any(v_ids)
    order by o.message_id
    for update of o
  )
  select pg_catalog.array_agg(o.ctid) into v_rows
  from locked o
  where (o.message_id, o.lease_token) in (select u.id, u.token from unnest(v_ids, v_tokens) as u(id, token))
    and o.runner = release_messages.runner and o.state = 'sending';
  return query
  update hookline.outbox o
  set state = 'queued', lease_token = null, runner = null, next_attempt_at = release_messages.now
  where o.ctid = any(v_rows)
  returning o.message_id;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform hookline._wake('hookline_outbox');
  end if;
end
$$;

comment on function hookline.release_messages(text, jsonb, timestamptz) is
  'Gives back leases of messages a runner did not send (stopping, or not started within the send margin of their claim, claim_messages'' send_within_ms): queued again at now, no attempt counted, a waiting outbound runner notified (hookline_outbox). Their last_claimed_at stays: the claim still counts in the number''s send window (hookline._sender_window; conservative) and, as the message''s own claim, for the pair limit. Leases no longer held are ignored. Returns the ids released. Errors: HL064 invalid argument.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.release_messages(text,jsonb,timestamp with time zone) from public;
grant execute on function hookline.release_messages(text,jsonb,timestamp with time zone) to hookline_runner;
