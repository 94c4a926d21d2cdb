create or replace function hookline.replay(
  delivery_ids bigint[],
  now timestamptz default pg_catalog.now(),
  reason text default null,
  filter jsonb default null
)
returns setof bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- The caller's tenants, once (not a role lookup for every row).
  v_all boolean := hookline._sees_all_tenants();
  v_mine text[] := hookline._mapped_tenants();
  v_missing bigint[];
  v_expired bigint[];
begin
  -- Another tenant's delivery is treated exactly like one that does not exist (HL025), so the
  -- answer says nothing about other tenants' rows.
  perform from hookline.dead_letters l
  where l.delivery_id = any(replay.delivery_ids) and (v_all or l.tenant_id = any(v_mine))
  order by l.delivery_id for update;
  select pg_catalog.array_agg(i order by i) into v_missing
  from pg_catalog.unnest(replay.delivery_ids) i
  where not exists (select from hookline.dead_letters l where l.delivery_id = i and (v_all or l.tenant_id = any(v_mine)));
  if v_missing is not null then
    raise exception using
      errcode = 'HL025',
      message = format('not in the dead-letter queue: %s', pg_catalog.array_to_string(v_missing, ', ')),
      hint = 'Only dead or discarded deliveries can be replayed; hookline.dead_letter_queue lists them.';
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
  ), audited as (
    insert into hookline.audit_log (action, tenant_id, target, reason, before, after)
    select 'delivery.replay', m.tenant_id,
      pg_catalog.jsonb_build_object('count', pg_catalog.count(*), 'first_id', pg_catalog.min(m.delivery_id),
        'last_id', pg_catalog.max(m.delivery_id))
      || case when pg_catalog.count(*) <= 10
           then pg_catalog.jsonb_build_object('delivery_ids', pg_catalog.jsonb_agg(m.delivery_id order by m.delivery_id))
           else '{}' end
      || case when replay.filter is not null then pg_catalog.jsonb_build_object('filter', replay.filter) else '{}' end,
      replay.reason,
      pg_catalog.jsonb_build_object('dead', pg_catalog.count(*) filter (where m.state = 'dead'),
        'discarded', pg_catalog.count(*) filter (where m.state = 'discarded')),
      pg_catalog.jsonb_build_object('pending', pg_catalog.count(*))
    from moved m
    group by m.tenant_id
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

comment on function hookline.replay(bigint[], timestamptz, text, jsonb) is
  'Moves dead or discarded deliveries of the caller''s tenants back into the queue as pending, due at now, as their next generation (same delivery id and webhook-id; attempts of earlier generations stay in hookline.attempts), and notifies runners. All or nothing. Audited: one delivery.replay row per tenant with the count, first and last id (the ids themselves up to 10), the filter a bulk command selected them by, the reason and the counts by state. Returns the ids replayed. Errors: HL025 an id is not in the caller''s dead-letter queue; HL028 an event was dropped by retention.';

-- SECURITY DEFINER: operators have no table privileges; it acts only on the caller's tenants (hookline._sees_all_tenants, hookline._mapped_tenants) and audits.
revoke all on function hookline.replay(bigint[], timestamptz, text, jsonb) from public;
grant execute on function hookline.replay(bigint[], timestamptz, text, jsonb) to hookline_operator;
