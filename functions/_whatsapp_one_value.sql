-- A change's value of the common shape of a notification (hookline._whatsapp_one_item),
-- inlined there (plain SQL, no SET clause, a single expression).
create or replace function hookline._whatsapp_one_value(value jsonb)
returns boolean
language sql
immutable
as $$
  -- A change's value: one message or one status with an id, nothing else that is split, and
  -- at most one contact.
  select pg_catalog.jsonb_typeof(_whatsapp_one_value.value) = 'object'
    and not (_whatsapp_one_value.value ?| array['message_echoes', 'calls', 'user_preferences', 'user_actions', 'errors'])
    and (_whatsapp_one_value.value ? 'messages') <> (_whatsapp_one_value.value ? 'statuses')
    and hookline._whatsapp_one_object(coalesce(_whatsapp_one_value.value->'messages', _whatsapp_one_value.value->'statuses'))
    and coalesce(_whatsapp_one_value.value->'messages', _whatsapp_one_value.value->'statuses')->0->>'id' <> ''
    and (not (_whatsapp_one_value.value ? 'contacts') or hookline._whatsapp_one_object(_whatsapp_one_value.value->'contacts'))
$$;

comment on function hookline._whatsapp_one_value(jsonb) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_one_item: whether value (a change''s value) has one message or one status with an id, at most one contact, and no message_echoes, calls, user_preferences, user_actions or errors (null when value is null). Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_one_value(jsonb) from public;
