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
begin
  -- A batch of one (hookline.ingest_many: the source, the checks, and the path of a request's
  -- events through hookline._ingest, which wakes the runners when deliveries were created).
  return query
  select i.event_id, i.is_new
  from hookline.ingest_many(
    ingest.source, array[ingest.external_id], array[ingest.event_type], array[ingest.payload],
    array[ingest.occurred_at], ingest.received_at, array[ingest.phone_number_id], array[ingest.user_id],
    array[ingest.wa_id], array[ingest.request_id], array[ingest.traceparent]
  ) i;
end
$$;

comment on function hookline.ingest(text, text, text, jsonb, timestamptz, timestamptz, text, text, text, bigint, text) is
  'Stores one parsed event of a source idempotently: the first call for (source, external_id) creates the event and returns is_new = true; later calls return the same event_id with is_new = false. received_at defaults to now() (tests pass a clock). phone_number_id, user_id and wa_id are the WhatsApp attributes; request_id names the raw request (hookline.raw_requests); traceparent is the W3C trace context sent on with every delivery (a malformed one is dropped). A batch of one of hookline.ingest_many, stored through hookline._ingest like the events of hookline.receive. Errors: HL001 unknown source; HL002 invalid argument (empty external_id, malformed event type, null payload).';

-- SECURITY DEFINER: the ingress has no table privileges; it stores events only through this function.
revoke all on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint,text) from public;
grant execute on function hookline.ingest(text,text,text,jsonb,timestamp with time zone,timestamp with time zone,text,text,text,bigint,text) to hookline_ingest;
