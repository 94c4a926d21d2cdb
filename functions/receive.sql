create or replace function hookline.receive(
  source text,
  body jsonb,
  raw bytea,
  headers jsonb default '{}',
  received_at timestamptz default pg_catalog.now()
)
returns table (request_id bigint, event_count integer, new_event_count integer)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_source hookline.sources;
  v_request_id bigint := nextval('hookline.raw_requests_request_id_seq');
  v_event record;
  v_count integer := 0;
  v_new integer := 0;
  v_is_new boolean;
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

  for v_event in
    select w.external_id, w.event_type, w.occurred_at, w.phone_number_id, w.user_id, w.wa_id, w.payload
    from hookline.whatsapp_events(receive.body) w
    where v_source.kind = 'whatsapp'
    union all
    select receive.headers->>'webhook-id',
           case when receive.body->>'type' ~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$' then receive.body->>'type' else 'unknown' end,
           null, null, null, null, receive.body
    where v_source.kind = 'standard-webhooks'
  loop
    if v_event.external_id is null then
      raise exception using
        errcode = 'HL041',
        message = 'a Standard Webhooks request needs a webhook-id header';
    end if;
    select i.is_new into v_is_new
    from hookline.ingest(
      source => receive.source, external_id => v_event.external_id, event_type => v_event.event_type,
      payload => v_event.payload, occurred_at => v_event.occurred_at, received_at => receive.received_at,
      phone_number_id => v_event.phone_number_id, user_id => v_event.user_id, wa_id => v_event.wa_id,
      request_id => v_request_id, traceparent => receive.headers->>'traceparent'
    ) i;
    -- A new status of a message hookline sent moves its outbox row (docs/outbound.md).
    if v_is_new and v_event.event_type like 'whatsapp.status.%' then
      perform hookline._apply_message_status(
        v_event.phone_number_id, v_event.payload #> '{entry,0,changes,0,value,statuses,0}', receive.received_at);
    end if;
    v_count := v_count + 1;
    v_new := v_new + v_is_new::integer;
  end loop;

  insert into hookline.raw_requests (request_id, received_at, source_id, tenant_id, headers, body, event_count, new_event_count)
  values (v_request_id, receive.received_at, v_source.source_id, v_source.tenant_id, receive.headers, receive.raw, v_count, v_new);

  return query select v_request_id, v_count, v_new;
end
$$;

comment on function hookline.receive(text, jsonb, bytea, jsonb, timestamptz) is
  'Stores one verified webhook request in one transaction: the raw request in hookline.raw_requests and one event per item through hookline.ingest (a WhatsApp body is split by hookline.whatsapp_events; a Standard Webhooks body is one event keyed by the webhook-id header, typed by its "type" field). Duplicates create no event. A new whatsapp.status.* event updates the outbox message it reports on (hookline._apply_message_status). Returns (request_id, event_count, new_event_count). The caller has verified the signature. Errors: HL001 unknown source; HL002 invalid argument; HL040 not a WhatsApp Business Account notification; HL041 Standard Webhooks request without webhook-id.';

-- SECURITY DEFINER: the ingress has no table privileges; it stores requests only through this function.
revoke all on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone) from public;
grant execute on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone) to hookline_ingest;
