-- The signature changed (a set of events instead of one): drop the older form on redeploy.
drop function if exists hookline._fan_out(bigint, timestamptz, text, bigint, text);

create or replace function hookline._fan_out(
  event_ids bigint[],
  event_types text[],
  received_at timestamptz,
  tenant_id text,
  source_id bigint
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
  -- for all the events of a request.
  insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
  select distinct e.endpoint_id, ev.event_id, _fan_out.received_at, _fan_out.received_at, _fan_out.received_at, e.tenant_id
  from rows from (pg_catalog.unnest(_fan_out.event_ids), pg_catalog.unnest(_fan_out.event_types)) as ev (event_id, event_type)
  join hookline.subscriptions s on s.tenant_id = _fan_out.tenant_id
    and (s.source_id is null or s.source_id = _fan_out.source_id)
    and ev.event_type ~ s.event_type_regex
  join hookline.endpoints e on e.endpoint_id = s.endpoint_id
  where e.state <> 'disabled';
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform hookline._wake_runners();
  end if;
  return v_count;
end
$$;

comment on function hookline._fan_out(bigint[], text[], timestamptz, text, bigint) is
  'Private, called by _ingest for the new events of one request (ids and types, all of one source, tenant and arrival time): creates one pending delivery per event and endpoint with a matching subscription (event type pattern and optional source), due at received_at, and wakes the runners once (hookline._wake_runners). Returns the number created. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._fan_out(bigint[], text[], timestamptz, text, bigint) from public;
