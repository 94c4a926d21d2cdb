-- The signature changed (a set of events of several sources): drop the older forms on redeploy.
drop function if exists hookline._fan_out(bigint, timestamptz, text, bigint, text);
drop function if exists hookline._fan_out(bigint[], text[], timestamptz, text, bigint);

create or replace function hookline._fan_out(
  event_ids bigint[],
  event_types text[],
  tenant_ids text[],
  source_ids bigint[],
  received_at timestamptz
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  -- One delivery per endpoint and event, however many of its subscriptions match. Paused
  -- endpoints get theirs (they wait); disabled endpoints get none. Set-based: one statement
  -- for all the events of a group of requests, whatever their sources.
  insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
  select distinct e.endpoint_id, ev.event_id, _fan_out.received_at, _fan_out.received_at, _fan_out.received_at, e.tenant_id
  from rows from (pg_catalog.unnest(_fan_out.event_ids), pg_catalog.unnest(_fan_out.event_types),
                  pg_catalog.unnest(_fan_out.tenant_ids), pg_catalog.unnest(_fan_out.source_ids))
    as ev (event_id, event_type, tenant_id, source_id)
  join hookline.subscriptions s on s.tenant_id = ev.tenant_id
    and (s.source_id is null or s.source_id = ev.source_id)
    and ev.event_type ~ s.event_type_regex
  join hookline.endpoints e on e.endpoint_id = s.endpoint_id
  where e.state <> 'disabled';
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform hookline._wake('hookline_deliveries');
  end if;
  return v_count;
end
$$;

comment on function hookline._fan_out(bigint[], text[], text[], bigint[], timestamptz) is
  'Private, called by _ingest for the new events of one or more requests (ids, types, tenants and sources, one element per event; one arrival time): creates one pending delivery per event and endpoint with a matching subscription (event type pattern and optional source), due at received_at, and wakes the runners once (hookline._wake on hookline_deliveries). Returns the number created. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._fan_out(bigint[], text[], text[], bigint[], timestamptz) from public;
