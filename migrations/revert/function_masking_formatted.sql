-- Revert hookline:function_masking_formatted from pg

BEGIN;

set local lock_timeout = '5s';

drop function hookline.mask_external_id(text);
drop table hookline.masking_key;
drop function hookline.mask_json(jsonb);

-- The definitions of function_masking.
create or replace function hookline.mask_text(value text)
returns text
language sql
immutable
set search_path = ''
begin atomic
  with recursive rules as (
    select r.n, r.pattern, r.replacement from hookline.masking_rules() with ordinality as r (rule, pattern, replacement, n)
  ), masked (n, v) as (
    select 0::bigint, mask_text.value
    union all
    select m.n + 1, pg_catalog.regexp_replace(m.v, r.pattern, r.replacement, 'g')
    from masked m join rules r on r.n = m.n + 1
  )
  select m.v from masked m order by m.n desc limit 1;
end;

comment on function hookline.mask_text(text) is
  'Migration-owned. Free text with the hookline.masking_rules() applied (phone numbers and e-mail addresses masked). Errors: none.';

create or replace function hookline.masking_rules()
returns table (rule text, pattern text, replacement text)
language sql
immutable
set search_path = ''
begin atomic
  select * from (values
    ('phone', '(?<![0-9A-Za-z])\+?(1|7|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|2[1-689][0-9]|3[578][0-9]|42[0-9]|5[09][0-9]|6[7-9][0-9]|8[0357-9][0-9]|9[679][0-9])[0-9]{4,10}([0-9]{2})(?![0-9A-Za-z])', '+\1******\2'),
    ('email', '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]')
  ) as r (rule, pattern, replacement);
end;

comment on function hookline.masking_rules() is
  'Migration-owned. The patterns that mask personal data in free text, in the order applied: phone numbers keep the country code and the last two digits, e-mail addresses are replaced. Used by hookline.mask_text and by the runner''s and ingress''s logs. Errors: none.';

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
  'Migration-owned. An event payload with personal data masked: phone numbers keep their country code and last two digits, names become [name], message text, locations and contact details [text]; other strings go through mask_text. Errors: none.';

delete from hookline.schema_changes where change = 'function_masking_formatted';

COMMIT;
