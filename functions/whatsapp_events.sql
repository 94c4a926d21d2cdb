-- The signature changed (sanitized pointers, one more column): drop the older form on redeploy.
drop function if exists hookline.whatsapp_events(jsonb);

create or replace function hookline.whatsapp_events(body jsonb, sanitized text[] default null)
returns table (
  external_id text,
  event_type text,
  occurred_at timestamptz,
  phone_number_id text,
  user_id text,
  wa_id text,
  payload jsonb,
  sanitized_fields text[]
)
language plpgsql
immutable
set search_path = ''
as $$
begin
  if whatsapp_events.body is null or pg_catalog.jsonb_typeof(whatsapp_events.body) <> 'object'
     or whatsapp_events.body->>'object' is distinct from 'whatsapp_business_account' then
    raise exception using
      errcode = 'HL040',
      message = 'not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account"';
  end if;
  if pg_catalog.jsonb_typeof(whatsapp_events.body->'entry') is distinct from 'array' then
    raise exception using
      errcode = 'HL040',
      message = 'not a WhatsApp Business Account notification: "entry" must be an array';
  end if;

  return query
  select w.external_id, w.event_type, w.occurred_at, w.phone_number_id, w.user_id, w.wa_id, w.payload, w.sanitized_fields
  from hookline._whatsapp_split(array[whatsapp_events.body], array[pg_catalog.to_jsonb(whatsapp_events.sanitized)]) with ordinality as w
  order by w.ordinality;
end
$$;

comment on function hookline.whatsapp_events(jsonb, text[]) is
  'Splits one WhatsApp Cloud API notification body into events, one per item of value.messages, message_echoes, statuses, calls, user_preferences, user_actions and errors (value-level errors next to calls travel with the call), and one per change without items (a history change is always one: past chats are not live messages): (external_id, event_type, occurred_at, phone_number_id, user_id, wa_id, payload, sanitized_fields). Keys: the wamid of a message; wamid:status[:participant] of a message status; wamid:payment:status:<sha256 of the item> of a payment status (typed whatsapp.payment.<status>); call:<id>:<event> and call:<id>:status:<status> of calls; a sha256 digest of the change and the item''s position for items without an id (errors, user preferences, user actions). occurred_at is the item''s timestamp, else entry.time, else null (the caller uses the arrival time). payload is the notification narrowed to the one item, its metadata and only the contact the item is about. sanitized: JSON Pointers of strings the caller replaced in the body; each event gets those inside its payload, rebased. Set-based, linear in the body. Pure: stores nothing. Errors: HL040 the body is not a WhatsApp Business Account notification (object, entry).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.whatsapp_events(jsonb, text[]) from public;
