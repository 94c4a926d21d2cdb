create or replace function hookline.replay(delivery_ids bigint[], now timestamptz default pg_catalog.now())
returns setof bigint
language plpgsql
set search_path = ''
as $$
declare
  v_missing bigint[];
  v_expired bigint[];
begin
  perform from hookline.dead_letters l where l.delivery_id = any(replay.delivery_ids) order by l.delivery_id for update;
  select pg_catalog.array_agg(i order by i) into v_missing
  from pg_catalog.unnest(replay.delivery_ids) i
  where not exists (select from hookline.dead_letters l where l.delivery_id = i);
  if v_missing is not null then
    raise exception using
      errcode = 'HL025',
      message = format('not in the dead-letter queue: %s', pg_catalog.array_to_string(v_missing, ', ')),
      hint = 'Only dead or discarded deliveries can be replayed; hookline.dead_letters lists them.';
  end if;
  select pg_catalog.array_agg(l.delivery_id order by l.delivery_id) into v_expired
  from hookline.dead_letters l
  where l.delivery_id = any(replay.delivery_ids)
    and not exists (
      select from hookline.events ev where ev.event_id = l.event_id and ev.received_at = l.event_received_at
    );
  if v_expired is not null then
    raise exception using
      errcode = 'HL028',
      message = format('the events of these deliveries are gone (retention): %s', pg_catalog.array_to_string(v_expired, ', '));
  end if;

  return query
  with moved as (
    delete from hookline.dead_letters l where l.delivery_id = any(replay.delivery_ids) returning l.*
  )
  insert into hookline.deliveries (
    delivery_id, endpoint_id, event_id, event_received_at, next_attempt_at, created_at, attempt_count, generation, state, tenant_id
  )
  select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, replay.now, replay.now, 0, m.generation + 1, 'pending', m.tenant_id
  from moved m
  returning delivery_id;
  if found then
    perform pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}');
  end if;
end
$$;

comment on function hookline.replay(bigint[], timestamptz) is
  'Moves dead or discarded deliveries back into the queue as pending, due at now, as their next generation (same delivery id and webhook-id; attempts of earlier generations stay in hookline.attempts), and notifies runners. All or nothing. Returns the ids replayed. Errors: HL025 an id is not in the dead-letter queue; HL028 an event was dropped by retention.';
