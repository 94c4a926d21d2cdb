create or replace function hookline.discard(
  delivery_ids bigint[],
  reason text default 'discarded by an operator',
  now timestamptz default pg_catalog.now(),
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
  v_reason text := coalesce(discard.reason, 'discarded by an operator');
  v_done bigint[];
begin
  -- Another tenant's delivery is treated exactly like one that does not exist (HL025).
  perform from hookline.deliveries d
  where d.delivery_id = any(discard.delivery_ids) and (v_all or d.tenant_id = any(v_mine))
  order by d.delivery_id for update;
  perform from hookline.dead_letters l
  where l.delivery_id = any(discard.delivery_ids) and (v_all or l.tenant_id = any(v_mine))
  order by l.delivery_id for update;
  select pg_catalog.array_agg(i order by i) into v_missing
  from pg_catalog.unnest(discard.delivery_ids) i
  where not exists (select from hookline.deliveries d where d.delivery_id = i and (v_all or d.tenant_id = any(v_mine)))
    and not exists (select from hookline.dead_letters l where l.delivery_id = i and (v_all or l.tenant_id = any(v_mine)));
  if v_missing is not null then
    raise exception using
      errcode = 'HL025',
      message = format('no live or dead delivery: %s', pg_catalog.array_to_string(v_missing, ', ')),
      hint = 'Succeeded deliveries cannot be discarded.';
  end if;

  with changed as (
    update hookline.dead_letters l
    set state = 'discarded', reason = v_reason, finished_at = discard.now
    where l.delivery_id = any(discard.delivery_ids) and l.state = 'dead'
    returning l.delivery_id, l.tenant_id, 'dead'::text as was
  ), moved as (
    -- Live ones (an in_flight one too: its runner's result will be stale) leave the queue.
    delete from hookline.deliveries d where d.delivery_id = any(discard.delivery_ids) returning d.*
  ), inserted as (
    insert into hookline.dead_letters (
      delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at, last_status_code,
      attempt_count, generation, state, tenant_id, reason
    )
    select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, m.created_at, discard.now, null,
      m.attempt_count, m.generation, 'discarded', m.tenant_id, v_reason
    from moved m
    returning delivery_id
  ), done as (
    select c.delivery_id, c.tenant_id, c.was from changed c
    union all
    select m.delivery_id, m.tenant_id, m.state::text from moved m
  ), audited as (
    insert into hookline.audit_log (action, tenant_id, target, reason, before, after)
    select 'delivery.discard', x.tenant_id,
      pg_catalog.jsonb_build_object('count', pg_catalog.count(*), 'first_id', pg_catalog.min(x.delivery_id),
        'last_id', pg_catalog.max(x.delivery_id))
      || case when pg_catalog.count(*) <= 10
           then pg_catalog.jsonb_build_object('delivery_ids', pg_catalog.jsonb_agg(x.delivery_id order by x.delivery_id))
           else '{}' end
      || case when discard.filter is not null then pg_catalog.jsonb_build_object('filter', discard.filter) else '{}' end,
      v_reason,
      (select pg_catalog.jsonb_object_agg(y.was, y.n) from (
        select z.was, pg_catalog.count(*) as n from done z where z.tenant_id = x.tenant_id group by z.was) y),
      pg_catalog.jsonb_build_object('discarded', pg_catalog.count(*))
    from done x
    group by x.tenant_id
  )
  select pg_catalog.array_agg(d.delivery_id order by d.delivery_id) into v_done from done d;
  return query select pg_catalog.unnest(v_done);
end
$$;

comment on function hookline.discard(bigint[], text, timestamptz, jsonb) is
  'Discards deliveries of the caller''s tenants: live ones (pending, retrying, in flight) leave the queue and dead ones stay in the dead-letter queue, all as discarded with the reason; replay can still bring them back. Already discarded ones are left as they are (and not audited). Audited: one delivery.discard row per tenant with the count, first and last id changed (the ids themselves up to 10), the filter a bulk command selected them by, the reason and the counts by former state. Returns the ids discarded. Errors: HL025 an id is neither live nor dead among the caller''s tenants.';

-- SECURITY DEFINER: operators have no table privileges; it acts only on the caller's tenants (hookline._sees_all_tenants, hookline._mapped_tenants) and audits.
revoke all on function hookline.discard(bigint[], text, timestamptz, jsonb) from public;
grant execute on function hookline.discard(bigint[], text, timestamptz, jsonb) to hookline_operator;
