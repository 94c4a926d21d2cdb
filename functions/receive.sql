-- The signature changed (sanitized pointers): drop the older form on redeploy.
drop function if exists hookline.receive(text, jsonb, bytea, jsonb, timestamptz);

create or replace function hookline.receive(
  source text,
  body jsonb,
  raw bytea,
  headers jsonb default '{}',
  received_at timestamptz default pg_catalog.now(),
  sanitized text[] default null
)
returns table (request_id bigint, event_count integer, new_event_count integer)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_source hookline.sources;
  v_request_id bigint := nextval('hookline.raw_requests_request_id_seq');
  v_events jsonb;
  v_count integer;
  v_new integer;
  v_new_ords bigint[];
begin
  select s.* into v_source from hookline.sources s where s.name = receive.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', receive.source),
      hint = 'hookline sources list shows the sources; add one with hookline sources add.';
  end if;
  if receive.raw is null or receive.received_at is null
     or pg_catalog.jsonb_typeof(coalesce(receive.headers, 'null')) <> 'object' then
    raise exception using errcode = 'HL002', message = 'raw and received_at must not be null, headers must be an object';
  end if;
  if v_source.kind = 'standard-webhooks' and receive.headers->>'webhook-id' is null then
    raise exception using
      errcode = 'HL041',
      message = 'a Standard Webhooks request needs a webhook-id header';
  end if;

  -- Every event of the request, in body order; an item without a time of its own happened
  -- when it arrived.
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e) order by e.n), '[]') into v_events
  from (
    select w.external_id, w.event_type, coalesce(w.occurred_at, receive.received_at) as occurred_at,
      w.phone_number_id, w.user_id, w.wa_id, w.payload, w.sanitized_fields as sanitized,
      pg_catalog.row_number() over () as n
    from hookline.whatsapp_events(receive.body, receive.sanitized) w
    where v_source.kind = 'whatsapp'
    union all
    select receive.headers->>'webhook-id',
           case when receive.body->>'type' ~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$' then receive.body->>'type' else 'unknown' end,
           null, null, null, null, receive.body, receive.sanitized, 1
    where v_source.kind = 'standard-webhooks'
  ) e;

  select pg_catalog.count(*), pg_catalog.count(*) filter (where i.is_new), pg_catalog.array_agg(i.ord) filter (where i.is_new)
  into v_count, v_new, v_new_ords
  from hookline._ingest(v_source.source_id, v_source.tenant_id, receive.received_at, v_request_id, v_events,
    receive.headers->>'traceparent') i;

  -- A new status of a message hookline sent moves its outbox row (docs/outbound.md).
  perform hookline._apply_message_status(
    e.phone_number_id, e.payload #> '{entry,0,changes,0,value,statuses,0}', receive.received_at)
  from pg_catalog.unnest(v_new_ords) as nw (ord)
  join rows from (pg_catalog.jsonb_to_recordset(v_events) as (event_type text, phone_number_id text, payload jsonb))
    with ordinality as e (event_type, phone_number_id, payload, n)
    on e.n = nw.ord
  where e.event_type like 'whatsapp.status.%'
  order by nw.ord;

  insert into hookline.raw_requests (request_id, received_at, source_id, tenant_id, headers, body, event_count, new_event_count)
  values (v_request_id, receive.received_at, v_source.source_id, v_source.tenant_id, receive.headers, receive.raw, v_count, v_new);

  return query select v_request_id, v_count, v_new;
end
$$;

comment on function hookline.receive(text, jsonb, bytea, jsonb, timestamptz, text[]) is
  'Stores one verified webhook request in one transaction: the raw request in hookline.raw_requests (the bytes as received) and all its events at once through hookline._ingest (a WhatsApp body is split by hookline.whatsapp_events; a Standard Webhooks body is one event keyed by the webhook-id header, typed by its "type" field). body is the parsed body; when the caller had to replace characters jsonb cannot hold, sanitized lists the JSON Pointers of the strings it changed and each event records those in its payload. An event without a time of its own gets received_at as occurred_at. Duplicates create no event. A new whatsapp.status.* event updates the outbox message it reports on (hookline._apply_message_status). Returns (request_id, event_count, new_event_count). The caller has verified the signature. Errors: HL001 unknown source; HL002 invalid argument; HL040 not a WhatsApp Business Account notification; HL041 Standard Webhooks request without webhook-id.';

-- SECURITY DEFINER: the ingress has no table privileges; it stores requests only through this function.
revoke all on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone,text[]) from public;
grant execute on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone,text[]) to hookline_ingest;
