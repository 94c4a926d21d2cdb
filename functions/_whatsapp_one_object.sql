-- An array of exactly one object, a rule of the common shape of a notification
-- (hookline._whatsapp_one_item), inlined there (plain SQL, no SET clause, a single expression).
create or replace function hookline._whatsapp_one_object(a jsonb)
returns boolean
language sql
immutable
as $$
  select pg_catalog.jsonb_typeof(_whatsapp_one_object.a) = 'array' and _whatsapp_one_object.a->1 is null
    and pg_catalog.jsonb_typeof(_whatsapp_one_object.a->0) = 'object'
$$;

comment on function hookline._whatsapp_one_object(jsonb) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_one_item: whether a is an array of exactly one object (null when a is null). Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_one_object(jsonb) from public;
