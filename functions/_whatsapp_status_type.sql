-- A status item's event type, for both statements of hookline._whatsapp_split (the common
-- shape's and the general one), inlined there (plain SQL, no SET clause, a single expression).
create or replace function hookline._whatsapp_status_type(item jsonb, field text, word text)
returns text
language sql
immutable
as $$
  select case
    when _whatsapp_status_type.item->>'type' = 'call' or _whatsapp_status_type.field = 'calls' then 'whatsapp.call.status.'
    when _whatsapp_status_type.item->>'type' = 'payment' then 'whatsapp.payment.'
    else 'whatsapp.status.'
  end || _whatsapp_status_type.word
$$;

comment on function hookline._whatsapp_status_type(jsonb, text, text) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_split: the event type of a status item (value.statuses[]) of a change of field, ending in word (its status as a plain word): whatsapp.call.status.<word> for a call''s status (field calls or type call), whatsapp.payment.<word> for a payment''s, whatsapp.status.<word> for a message''s. Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_status_type(jsonb, text, text) from public;
