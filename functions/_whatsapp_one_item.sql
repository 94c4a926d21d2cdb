-- The common shape of a notification, split by a statement of a few plan nodes: one entry, one
-- change (not a history change, which is kept whole), one message or one status (with its id)
-- and at most one contact, nothing else in the value that is split, no sanitised strings. Its
-- one event's payload is the notification itself (object and entry): narrowing it to its item,
-- metadata and contact changes nothing.
-- Inlined where it is used, with the two functions it calls (plain SQL, no SET clause, a
-- single expression each: the planner inlines a call inside an inlined body too).
-- Operators that never raise on an unexpected type (->, #>, ?, jsonb_typeof), so the order in
-- which the planner evaluates the conditions does not matter; never null.
create or replace function hookline._whatsapp_one_item(body jsonb, sanitized jsonb)
returns boolean
language sql
immutable
as $$
  select coalesce(
    coalesce(_whatsapp_one_item.sanitized, 'null'::jsonb) = 'null'::jsonb
    and pg_catalog.jsonb_typeof(_whatsapp_one_item.body) = 'object' and _whatsapp_one_item.body->>'object' = 'whatsapp_business_account'
    and hookline._whatsapp_one_object(_whatsapp_one_item.body->'entry')
    and hookline._whatsapp_one_object(_whatsapp_one_item.body#>'{entry,0,changes}')
    and _whatsapp_one_item.body#>>'{entry,0,changes,0,field}' is distinct from 'history'
    and hookline._whatsapp_one_value(_whatsapp_one_item.body#>'{entry,0,changes,0,value}'),
    false)
$$;

comment on function hookline._whatsapp_one_item(jsonb, jsonb) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_split: true when body is a WhatsApp Business Account notification of the common shape (one entry, one change, not a history change, whose value has one message or one status with an id, at most one contact, and no message_echoes, calls, user_preferences, user_actions or errors) and sanitized (its sanitised strings'' pointers) is null. Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_one_item(jsonb, jsonb) from public;
