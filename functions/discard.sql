create or replace function hookline.discard(
  delivery_ids bigint[],
  reason text default 'discarded by an operator',
  now timestamptz default pg_catalog.now()
)
returns setof bigint
language plpgsql
set search_path = ''
as $$
declare
  v_missing bigint[];
  v_reason text := coalesce(discard.reason, 'discarded by an operator');
begin
  perform from hookline.deliveries d where d.delivery_id = any(discard.delivery_ids) order by d.delivery_id for update;
  perform from hookline.dead_letters l where l.delivery_id = any(discard.delivery_ids) order by l.delivery_id for update;
  select pg_catalog.array_agg(i order by i) into v_missing
  from pg_catalog.unnest(discard.delivery_ids) i
  where not exists (select from hookline.deliveries d where d.delivery_id = i)
    and not exists (select from hookline.dead_letters l where l.delivery_id = i);
  if v_missing is not null then
    raise exception using
      errcode = 'HL025',
      message = format('no live or dead delivery: %s', pg_catalog.array_to_string(v_missing, ', ')),
      hint = 'Succeeded deliveries cannot be discarded.';
  end if;

  return query
  update hookline.dead_letters l
  set state = 'discarded', reason = v_reason, finished_at = discard.now
  where l.delivery_id = any(discard.delivery_ids) and l.state = 'dead'
  returning l.delivery_id;

  -- Live ones (an in_flight one too: its runner's result will be stale) leave the queue.
  return query
  with moved as (
    delete from hookline.deliveries d where d.delivery_id = any(discard.delivery_ids) returning d.*
  )
  insert into hookline.dead_letters (
    delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at, last_status_code,
    attempt_count, generation, state, tenant_id, reason
  )
  select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, m.created_at, discard.now, null,
    m.attempt_count, m.generation, 'discarded', m.tenant_id, v_reason
  from moved m
  returning delivery_id;
end
$$;

comment on function hookline.discard(bigint[], text, timestamptz) is
  'Discards deliveries: live ones (pending, retrying, in flight) leave the queue and dead ones stay in the dead-letter queue, all as discarded with the reason; replay can still bring them back. Already discarded ones are left as they are. Returns the ids discarded. Errors: HL025 an id is neither live nor dead.';
