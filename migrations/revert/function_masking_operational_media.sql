-- Revert hookline:function_masking_operational_media from pg

BEGIN;

set local lock_timeout = '5s';

-- The definition of function_masking_sdp_groups_upi.
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
          -- subject: a group's name (group_lifecycle_update), chosen by people, as a description is.
          when e.key in ('body', 'text', 'caption', 'title', 'description', 'subject', 'address', 'emails', 'email', 'latitude', 'longitude', 'urls', 'birthday', 'org')
            then '"[text]"'::jsonb
          -- What a user answered or chose (a Flow's form, a reaction, a quick-reply button's
          -- payload) and the ad that brought them (click-to-WhatsApp referral).
          when e.key in ('response_json', 'emoji', 'payload', 'headline', 'source_url', 'image_url', 'video_url', 'thumbnail_url', 'ctwa_clid', 'identity_key_hash')
            then '"[text]"'::jsonb
          -- A group's invite link lets whoever holds it join: its host stays, its code goes.
          when e.key = 'invite_link' and pg_catalog.jsonb_typeof(e.value) = 'string'
            then pg_catalog.to_jsonb(case when e.value #>> '{}' ~ '^[a-z]+://[^/]+/'
              then pg_catalog.regexp_replace(e.value #>> '{}', '^([a-z]+://[^/]+/).*$', '\1[masked]') else '[masked]' end)
          -- A call's SDP (RFC 8866): addresses and ICE/DTLS credentials replaced, every line
          -- kept; the lines that may hold free text (o='s user name, s= unless "-", i=, u=,
          -- e= an e-mail address, p= a phone number) lose their value. Not mask_text: it would
          -- read candidate priorities and SSRCs as phone numbers.
          when e.key = 'sdp' and pg_catalog.jsonb_typeof(e.value) = 'string'
            then pg_catalog.to_jsonb(
              -- 11. any other IPv4 address; 10. any other IPv6 address (two colons or more).
              -- 0.0.0.0 and 127.0.0.1 (placeholders WebRTC writes when ICE carries the
              -- addresses) stay: they locate nobody and say how the SDP was built.
              pg_catalog.regexp_replace(pg_catalog.regexp_replace(
              -- 9. c=, o=, a=rtcp: ... IN IP4|IP6 <address>
              pg_catalog.regexp_replace(
              -- 6.-8. a candidate's address (IP or mDNS name), its related address, its ufrag
              pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
              -- 3.-5. free-text lines
              pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
              -- 1.-2. credentials and the certificate's fingerprint (its hash function stays)
              pg_catalog.regexp_replace(pg_catalog.regexp_replace(
                e.value #>> '{}',
                '(a=(ice-ufrag|ice-pwd|crypto):)[^\r\n]*', '\1[masked]', 'g'),
                '(a=fingerprint:[^ \r\n]+ )[^\r\n]*', '\1[masked]', 'g'),
                '(^|\n)([eipu]=)[^\r\n]*', '\1\2[masked]', 'g'),
                '(^|\n)(s=)(?!-(\r|\n|$))[^\r\n]*', '\1\2[masked]', 'g'),
                '(^|\n)(o=)(?!- )[^ \r\n]+', '\1\2[masked]', 'g'),
                '(a=candidate:[^ \r\n]+ [0-9]+ [^ \r\n]+ [0-9]+ )[^ \r\n]+', '\1[ip]', 'g'),
                '( raddr )[^ \r\n]+', '\1[ip]', 'g'),
                '( ufrag )[^ \r\n]+', '\1[masked]', 'g'),
                '(IN IP[46] )(?!(0\.0\.0\.0|127\.0\.0\.1|::1?)(\r|\n|$))[^ \r\n/]+', '\1[ip]', 'g'),
                '(?<![0-9A-Za-z:])(?=[0-9A-Fa-f:]*[0-9A-Fa-f])[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Za-z:])', '[ip]', 'g'),
                '(?<![0-9.])(?!(0\.0\.0\.0|127\.0\.0\.1)(?![0-9.]))[0-9]{1,3}(\.[0-9]{1,3}){3}(?![0-9.])', '[ip]', 'g'))
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
      -- A UPI id (VPA: handle@bank, no dot after the bank: an e-mail address has one and
      -- mask_text makes it [email]) and a upi://pay link's payee address (pa=, also
      -- percent-encoded) and payee name (pn=) before the common rules.
      return pg_catalog.to_jsonb(hookline.mask_text(
        pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
          mask_payload.value #>> '{}',
          '([?&]pa=)[^&#[:space:]]*', '\1[upi]', 'g'),
          '([?&]pn=)[^&#[:space:]]*', '\1[name]', 'g'),
          '(?<![A-Za-z0-9._-])[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z][A-Za-z0-9]*(?!\.?[A-Za-z0-9-])', '[upi]', 'g')));
    else
      return mask_payload.value;
  end case;
end
$$;

comment on function hookline.mask_payload(jsonb) is
  'Migration-owned. An event payload with personal data masked: phone numbers keep their country code and last two digits, names (and the full_name of a contact the WhatsApp Business app synchronises) become [name], message text, locations, contact details, group subjects and descriptions, Flow replies (response_json), reactions, button payloads and click-to-WhatsApp ad referrals [text], business-scoped user ids their country prefix and [masked], WhatsApp message ids (which encode the user''s number) wamid.[masked], call ids wacid.[masked], the chats of the WhatsApp Business app''s history (threads[].id, the user''s number) as numbers, a call''s SDP keeps its lines with its addresses [ip] and its ICE credentials and certificate fingerprint [masked], a group''s invite link keeps only its host, UPI ids (name@bank, a upi:// link''s pa= and pn=) become [upi] and [name]; other strings go through mask_text. Errors: none.';

delete from hookline.schema_changes where change = 'function_masking_operational_media';

COMMIT;
