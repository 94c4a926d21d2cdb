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
  request_id bigint default null,
  traceparent text default null
)
returns table (event_id bigint, is_new boolean)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_source hookline.sources;
begin
  select s.* into v_source from hookline.sources s where s.name = ingest.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', ingest.source),
      hint = 'hookline.sources lists the sources; add one first.';
  end if;
  if ingest.received_at is null then
    raise exception using errcode = 'HL002', message = 'payload and received_at must not be null';
  end if;

  -- One event: the same path as a whole request's events (hookline._ingest), which wakes the
  -- runners (hookline._wake) when deliveries were created.
  return query
  select i.event_id, i.is_new
  from hookline._ingest(
    ingest.received_at, array[v_source.source_id], array[v_source.tenant_id], array[ingest.request_id],
    array[ingest.traceparent], array[ingest.external_id], array[ingest.event_type], array[ingest.payload],
    array[ingest.occurred_at], array[ingest.phone_number_id], array[ingest.user_id], array[ingest.wa_id],
    array[null::jsonb]
  ) i;
end
$$;

comment on function hookline.ingest(text, text, text, jsonb, timestamptz, timestamptz, text, text, text, bigint, text) is
  'Stores one parsed event of a source idempotently: the first call for (source, external_id) creates the event and returns is_new = true; later calls return the same event_id with is_new = false. received_at defaults to now() (tests pass a clock). phone_number_id, user_id and wa_id are the WhatsApp attributes; request_id names the raw request (hookline.raw_requests); traceparent is the W3C trace context sent on with every delivery (a malformed one is dropped). Stored through hookline._ingest, like the events of hookline.receive. Errors: HL001 unknown source; HL002 invalid argument (empty external_id, malformed event type, null payload).';

-- SECURITY DEFINER: the ingress has no table privileges; it stores events only through this function.
revoke all on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint,text) from public;
grant execute on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint,text) to hookline_ingest;
