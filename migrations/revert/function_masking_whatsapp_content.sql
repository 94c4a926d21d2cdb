-- Revert hookline:function_masking_whatsapp_content from pg

BEGIN;

set local lock_timeout = '5s';

-- The definition of function_masking_formatted.
create or replace function hookline.mask_payload(value jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  case pg_catalog.jsonb_typeof(mask_payload.value)
    when 'object' then
      return coalesce((
        select pg_catalog.jsonb_object_agg(e.key, case
          when e.key in ('from', 'wa_id', 'recipient_id', 'phone', 'phone_number', 'display_phone_number', 'input')
            and pg_catalog.jsonb_typeof(e.value) = 'string' then pg_catalog.to_jsonb(hookline.mask_phone(e.value #>> '{}'))
          when e.key in ('name', 'formatted_name', 'first_name', 'last_name', 'middle_name', 'username', 'profile')
            then '"[name]"'::jsonb
          when e.key in ('body', 'text', 'caption', 'title', 'description', 'address', 'emails', 'email', 'latitude', 'longitude', 'urls', 'birthday', 'org')
            then '"[text]"'::jsonb
          when e.key = 'id' and pg_catalog.jsonb_typeof(e.value) = 'string' and e.value #>> '{}' like 'wamid.%'
            then pg_catalog.to_jsonb(hookline.mask_text(e.value #>> '{}'))
          when e.key in ('id', 'timestamp', 'phone_number_id', 'expiration_timestamp', 'conversation_id', 'mime_type', 'sha256', 'type', 'status')
            then e.value
          else hookline.mask_payload(e.value)
        end)
        from pg_catalog.jsonb_each(mask_payload.value) e
      ), '{}'::jsonb);
    when 'array' then
      return coalesce((
        select pg_catalog.jsonb_agg(hookline.mask_payload(a.value) order by a.n)
        from pg_catalog.jsonb_array_elements(mask_payload.value) with ordinality as a (value, n)
      ), '[]'::jsonb);
    when 'string' then
      return pg_catalog.to_jsonb(hookline.mask_text(mask_payload.value #>> '{}'));
    else
      return mask_payload.value;
  end case;
end
$$;

comment on function hookline.mask_payload(jsonb) is
  'Migration-owned. An event payload with personal data masked: phone numbers keep their country code and last two digits, names become [name], message text, locations and contact details [text], WhatsApp message ids (which encode the user''s number) wamid.[masked]; other strings go through mask_text. Errors: none.';

delete from hookline.schema_changes where change = 'function_masking_whatsapp_content';

COMMIT;
