-- The signature changed (a pointer is rebased once, not once per event of its body): drop the
-- older form on redeploy.
drop function if exists hookline._whatsapp_pointer(text, integer, integer, text, integer, integer, text[]);

create or replace function hookline._whatsapp_pointer(pointer text, narrowed boolean)
returns text
language sql
immutable
set search_path = ''
as $$
  -- An event's payload keeps one entry and one change of its body, each at index 0, and when
  -- it is narrowed to an item, that item and its contact, each at index 0 of its array:
  -- /entry/E/... becomes /entry/0/..., /entry/E/changes/C/... /entry/0/changes/0/..., and
  -- narrowed /entry/E/changes/C/value/<array>/I/... /entry/0/changes/0/value/<array>/0/...
  select case
    when _whatsapp_pointer.narrowed then pg_catalog.regexp_replace(_whatsapp_pointer.pointer,
      '^/entry/[^/]*/changes/[^/]*/value/([^/]*)/[^/]*', '/entry/0/changes/0/value/\1/0')
    else pg_catalog.regexp_replace(pg_catalog.regexp_replace(_whatsapp_pointer.pointer,
      '^/entry/[^/]*', '/entry/0'), '^/entry/0/changes/[^/]*', '/entry/0/changes/0')
  end
$$;

comment on function hookline._whatsapp_pointer(text, boolean) is
  'Private, for hookline._whatsapp_split: a JSON Pointer into a whole notification body (to a string that was sanitised), rebased onto the payload of an event that holds it: its entry and change at index 0, and, narrowed (the pointer is inside the event''s own item or contact), that array''s element at index 0. Called once per pointer and form. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._whatsapp_pointer(text, boolean) from public;
