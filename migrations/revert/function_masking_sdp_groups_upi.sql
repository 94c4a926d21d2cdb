-- Revert hookline:function_masking_sdp_groups_upi from pg

BEGIN;

set local lock_timeout = '5s';

-- The definition of function_masking_whatsapp_fields.
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
          -- full_name: a contact the business saved in the WhatsApp Business app (smb_app_state_sync).
          when e.key in ('name', 'full_name', 'formatted_name', 'first_name', 'last_name', 'middle_name', 'username', 'profile')
            then '"[name]"'::jsonb
          -- A chat of the WhatsApp Business app's history (field history) is identified by the
          -- user's number: threads[].id is masked as one.
          when e.key = 'threads' and pg_catalog.jsonb_typeof(e.value) = 'array' then coalesce((
            select pg_catalog.jsonb_agg(case
                when pg_catalog.jsonb_typeof(t.value->'id') = 'string'
                  then hookline.mask_payload(t.value - 'id') || pg_catalog.jsonb_build_object('id', hookline.mask_phone(t.value->>'id'))
                else hookline.mask_payload(t.value) end order by t.n)
            from pg_catalog.jsonb_array_elements(e.value) with ordinality as t (value, n)), '[]'::jsonb)
          when e.key in ('body', 'text', 'caption', 'title', 'description', 'address', 'emails', 'email', 'latitude', 'longitude', 'urls', 'birthday', 'org')
            then '"[text]"'::jsonb
          -- What a user answered or chose (a Flow's form, a reaction, a quick-reply button's
          -- payload) and the ad that brought them (click-to-WhatsApp referral).
          when e.key in ('response_json', 'emoji', 'payload', 'headline', 'source_url', 'image_url', 'video_url', 'thumbnail_url', 'ctwa_clid', 'identity_key_hash')
            then '"[text]"'::jsonb
          -- A business-scoped user id (US.13491208655302741918, US.ENT.1181...) names a person
          -- as a number does; it keeps its country and ENT prefix, like a number its country code.
          when e.key in ('user_id', 'parent_user_id', 'from_user_id', 'from_parent_user_id', 'to_user_id', 'to_parent_user_id',
                         'recipient_user_id', 'recipient_parent_user_id', 'parent_recipient_user_id',
                         'recipient_participant_user_id', 'recipient_participant_parent_user_id')
            and pg_catalog.jsonb_typeof(e.value) = 'string'
            then pg_catalog.to_jsonb(pg_catalog.regexp_replace(e.value #>> '{}', '^([A-Z]{2}\.(ENT\.)?)?.*$', '\1[masked]'))
          when e.key = 'id' and pg_catalog.jsonb_typeof(e.value) = 'string' and e.value #>> '{}' like 'wamid.%'
            then pg_catalog.to_jsonb(hookline.mask_text(e.value #>> '{}'))
          -- A call id encodes the caller's number as a message id does (wacid.HBgL<base64 of it>).
          when e.key = 'id' and pg_catalog.jsonb_typeof(e.value) = 'string' and e.value #>> '{}' like 'wacid.%'
            then '"wacid.[masked]"'::jsonb
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
  'Migration-owned. An event payload with personal data masked: phone numbers keep their country code and last two digits, names (and the full_name of a contact the WhatsApp Business app synchronises) become [name], message text, locations, contact details, Flow replies (response_json), reactions, button payloads and click-to-WhatsApp ad referrals [text], business-scoped user ids their country prefix and [masked], WhatsApp message ids (which encode the user''s number) wamid.[masked], call ids wacid.[masked], the chats of the WhatsApp Business app''s history (threads[].id, the user''s number) as numbers; other strings go through mask_text. Errors: none.';

delete from hookline.schema_changes where change = 'function_masking_sdp_groups_upi';

COMMIT;
