create or replace function hookline._fan_out(
  event_id bigint,
  received_at timestamptz,
  tenant_id text,
  source_id bigint,
  event_type text
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  -- One delivery per endpoint, however many of its subscriptions match. Paused endpoints get
  -- theirs (they wait); disabled endpoints get none.
  insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
  select distinct e.endpoint_id, _fan_out.event_id, _fan_out.received_at, _fan_out.received_at, _fan_out.received_at, e.tenant_id
  from hookline.subscriptions s
  join hookline.endpoints e on e.endpoint_id = s.endpoint_id
  where s.tenant_id = _fan_out.tenant_id
    and (s.source_id is null or s.source_id = _fan_out.source_id)
    and _fan_out.event_type ~ s.event_type_regex
    and e.state <> 'disabled';
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

comment on function hookline._fan_out(bigint, timestamptz, text, bigint, text) is
  'Private, called by ingest for a new event: creates one pending delivery per endpoint with a matching subscription (event type pattern and optional source), due at received_at (ingest wakes the runners). Returns the number created. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._fan_out(bigint,timestamp with time zone,text,bigint,text) from public;
