-- The common shape of a notification, split by a statement of a few plan nodes: one entry, one
-- change, one message or one status (with its id) and at most one contact, nothing else in
-- the value that is split, no sanitised strings. Its one event's payload is the notification
-- itself (object and entry): narrowing it to its item, metadata and contact changes nothing.
-- Inlined where it is used (plain SQL, no SET clause).
create or replace function hookline._whatsapp_one_item(body jsonb, sanitized jsonb)
returns boolean
language sql
immutable
as $$
  -- Operators that never raise on an unexpected type (->, #>, ?, jsonb_typeof), so the order in
  -- which the planner evaluates the conditions does not matter; never null. No FROM clause:
  -- a single expression is inlined.
  select coalesce(
    coalesce(_whatsapp_one_item.sanitized, 'null'::jsonb) = 'null'::jsonb
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body) = 'object' and _whatsapp_one_item.body->>'object' = 'whatsapp_business_account'
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body->'entry') = 'array' and _whatsapp_one_item.body#>'{entry,1}' is null
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0}') = 'object'
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0,changes}') = 'array' and _whatsapp_one_item.body#>'{entry,0,changes,1}' is null
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0,changes,0}') = 'object'
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0,changes,0,value}') = 'object'
    and not (_whatsapp_one_item.body#>'{entry,0,changes,0,value}' ?| array['message_echoes', 'calls', 'user_preferences', 'errors'])
    and (_whatsapp_one_item.body#>'{entry,0,changes,0,value}' ? 'messages') <> (_whatsapp_one_item.body#>'{entry,0,changes,0,value}' ? 'statuses')
    and pg_catalog.jsonb_typeof(coalesce(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'messages', _whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'statuses')) = 'array' and coalesce(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'messages', _whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'statuses')->1 is null
    and pg_catalog.jsonb_typeof(coalesce(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'messages', _whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'statuses')->0) = 'object' and coalesce(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'messages', _whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'statuses')->0->>'id' <> ''
    and (not (_whatsapp_one_item.body#>'{entry,0,changes,0,value}' ? 'contacts')
         or (pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'contacts') = 'array' and _whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'contacts'->1 is null
             and pg_catalog.jsonb_typeof(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'->'contacts'->0) = 'object')),
    false)
$$;

comment on function hookline._whatsapp_one_item(jsonb, jsonb) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_split: true when body is a WhatsApp Business Account notification of the common shape (one entry, one change whose value has one message or one status with an id, at most one contact, and no message_echoes, calls, user_preferences or errors) and sanitized (its sanitised strings'' pointers) is null. Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_one_item(jsonb, jsonb) from public;
