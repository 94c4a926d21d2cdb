create or replace function hookline._whatsapp_pointer(
  pointer text,
  entry_index integer,
  change_index integer,
  kind text,
  item_index integer,
  contact_index integer,
  kinds text[]
)
returns text
language sql
immutable
set search_path = ''
as $$
  -- a: '', 'entry', <entry>, 'changes', <change>, 'value', <key>, <index>, ...
  select case
    when a[2] is distinct from 'entry' or a[3] is distinct from _whatsapp_pointer.entry_index::text then null
    when a[4] is distinct from 'changes' then '/entry/0' || pg_catalog.regexp_replace(_whatsapp_pointer.pointer, '^(/[^/]*){2}', '')
    when a[5] is distinct from _whatsapp_pointer.change_index::text then null
    when _whatsapp_pointer.kind is null or a[6] is distinct from 'value' then '/entry/0/changes/0' || pg_catalog.regexp_replace(_whatsapp_pointer.pointer, '^(/[^/]*){4}', '')
    when a[7] = _whatsapp_pointer.kind then
      case when a[8] = _whatsapp_pointer.item_index::text
           then '/entry/0/changes/0/value/' || a[7] || '/0' || pg_catalog.regexp_replace(_whatsapp_pointer.pointer, '^(/[^/]*){7}', '') end
    when a[7] = 'contacts' then
      case when a[8] = _whatsapp_pointer.contact_index::text
           then '/entry/0/changes/0/value/contacts/0' || pg_catalog.regexp_replace(_whatsapp_pointer.pointer, '^(/[^/]*){7}', '') end
    when a[7] = any(_whatsapp_pointer.kinds) then null
    else '/entry/0/changes/0/value' || pg_catalog.regexp_replace(_whatsapp_pointer.pointer, '^(/[^/]*){5}', '')
  end
  from (select pg_catalog.string_to_array(_whatsapp_pointer.pointer, '/')) as p (a)
$$;

comment on function hookline._whatsapp_pointer(text, integer, integer, text, integer, integer, text[]) is
  'Private, for whatsapp_events: rebases a JSON Pointer into a whole notification body onto the payload of one event (the item at entry_index, change_index, kind, item_index, with the contact at contact_index; kind null for a whole change), or null when the pointer is outside that payload. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._whatsapp_pointer(text, integer, integer, text, integer, integer, text[]) from public;
