create or replace function hookline.ingest(
  source text,
  external_id text,
  event_type text,
  payload jsonb,
  occurred_at timestamptz default null,
  received_at timestamptz default pg_catalog.now(),
  phone_number_id text default null,
  user_id text default null,
  wa_id text default null,
  request_id bigint default null
)
returns table (event_id bigint, is_new boolean)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_source_id bigint;
  v_tenant_id text;
  v_event_id bigint;
begin
  select s.source_id, s.tenant_id into v_source_id, v_tenant_id
  from hookline.sources s
  where s.name = ingest.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', ingest.source),
      hint = 'hookline.sources lists the sources; add one first.';
  end if;
  if coalesce(ingest.external_id, '') = '' then
    raise exception using errcode = 'HL002', message = 'external_id must be a non-empty string';
  end if;
  if ingest.event_type is null or ingest.event_type !~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$' then
    raise exception using
      errcode = 'HL002',
      message = format('invalid event type %L', ingest.event_type),
      hint = 'Event types are dotted lowercase words, e.g. whatsapp.message.text.';
  end if;
  if ingest.payload is null or ingest.received_at is null then
    raise exception using errcode = 'HL002', message = 'payload and received_at must not be null';
  end if;

  -- The key table decides: a key that exists means a duplicate, whatever partition its event is in.
  -- A concurrent duplicate waits here for the first transaction and then finds its key.
  insert into hookline.event_keys as k (source_id, external_id, event_id, received_at)
  values (v_source_id, ingest.external_id, nextval('hookline.events_event_id_seq'), ingest.received_at)
  on conflict do nothing
  returning k.event_id into v_event_id;

  if v_event_id is null then
    select k.event_id into strict v_event_id
    from hookline.event_keys k
    where k.source_id = v_source_id and k.external_id = ingest.external_id;
    return query select v_event_id, false;
    return;
  end if;

  insert into hookline.events (
    event_id, received_at, source_id, tenant_id, external_id, event_type, occurred_at, payload,
    phone_number_id, user_id, wa_id, request_id
  )
  values (
    v_event_id, ingest.received_at, v_source_id, v_tenant_id, ingest.external_id, ingest.event_type, ingest.occurred_at, ingest.payload,
    ingest.phone_number_id, ingest.user_id, ingest.wa_id, ingest.request_id
  );
  if hookline._fan_out(v_event_id, ingest.received_at, v_tenant_id, v_source_id, ingest.event_type) > 0 then
    perform hookline._wake_runners();
  end if;

  return query select v_event_id, true;
end
$$;

comment on function hookline.ingest(text, text, text, jsonb, timestamptz, timestamptz, text, text, text, bigint) is
  'Stores one parsed event of a source idempotently: the first call for (source, external_id) creates the event and returns is_new = true; later calls return the same event_id with is_new = false. received_at defaults to now() (tests pass a clock). phone_number_id, user_id and wa_id are the WhatsApp attributes; request_id names the raw request (hookline.raw_requests). Errors: HL001 unknown source; HL002 invalid argument (empty external_id, malformed event type, null payload).';

-- SECURITY DEFINER: the ingress has no table privileges; it stores events only through this function.
revoke all on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint) from public;
grant execute on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint) to hookline_ingest;
