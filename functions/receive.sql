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
  v_stored record;
begin
  -- One request: a group of one (hookline.receive_many), its error raised.
  select r.* into v_stored
  from hookline.receive_many(array[receive.source], array[receive.body::text], array[receive.raw],
    array[receive.headers], array[pg_catalog.to_jsonb(receive.sanitized)], receive.received_at) r;
  case v_stored.error_code
    when 'HL001' then
      raise exception using errcode = 'HL001', message = v_stored.error_message,
        hint = 'hookline sources list shows the sources; add one with hookline sources add.';
    when 'HL002' then
      raise exception using errcode = 'HL002', message = v_stored.error_message;
    when 'HL040' then
      raise exception using errcode = 'HL040', message = v_stored.error_message;
    when 'HL041' then
      raise exception using errcode = 'HL041', message = v_stored.error_message;
    else
      if v_stored.error_code is not null then  -- a body jsonb cannot read (22xxx, 54001)
        raise exception using errcode = v_stored.error_code, message = v_stored.error_message;
      end if;
  end case;
  return query select v_stored.request_id, v_stored.event_count, v_stored.new_event_count;
end
$$;

comment on function hookline.receive(text, jsonb, bytea, jsonb, timestamptz, text[]) is
  'Stores one verified webhook request in one transaction (as a group of one of hookline.receive_many): the raw request in hookline.raw_requests (the bytes as received) and all its events at once through hookline._ingest (a WhatsApp body is split by hookline.whatsapp_events; a Standard Webhooks body is one event keyed by the webhook-id header, typed by its "type" field). body is the parsed body; when the caller had to replace characters jsonb cannot hold, sanitized lists the JSON Pointers of the strings it changed and each event records those in its payload. An event without a time of its own gets received_at as occurred_at. Duplicates create no event. A new whatsapp.status.* event updates the outbox message it reports on (hookline._apply_message_statuses). Returns (request_id, event_count, new_event_count). The caller has verified the signature. Errors: HL001 unknown source; HL002 invalid argument; HL040 not a WhatsApp Business Account notification; HL041 Standard Webhooks request without webhook-id.';

-- SECURITY DEFINER: the ingress has no table privileges; it stores requests only through this function.
revoke all on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone,text[]) from public;
grant execute on function hookline.receive(text,jsonb,bytea,jsonb,timestamp with time zone,text[]) to hookline_ingest;
