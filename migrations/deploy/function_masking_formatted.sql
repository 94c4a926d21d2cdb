-- Deploy hookline:function_masking_formatted to pg
-- requires: function_masking
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- The one masking definition, second round (issue 15): WhatsApp message ids, which carry the
-- user's number in base64, and phone numbers written with spaces, dashes, dots and brackets
-- (+49 151 12345678, (650) 555-1234) join the rules; hookline.mask_json masks every string of a
-- JSON value (the audit log's before/after); hookline.mask_external_id shows an external id
-- that encodes a number as a keyed hash (the owner keeps the raw id in hookline.events).
-- These SQL patterns are authoritative: the views show what they leave. The ingress and the
-- runner apply them to log lines and then python's phonenumbers on top (stricter, never
-- looser); tests/security/test_masking.py checks both on the same corpus.
create or replace function hookline.masking_rules()
returns table (rule text, pattern text, replacement text)
language sql
immutable
set search_path = ''
begin atomic
  select * from (values
    ('wamid', 'wamid\.[A-Za-z0-9+/=_-]+', 'wamid.[masked]'),
    ('phone_formatted', '(?<![0-9A-Za-z+])(\+[0-9]{1,3}[ .-]?\(?[0-9]{1,5}\)?|\([0-9]{2,5}\)|[0-9]{3,5})([ .-][0-9]{2,8}){0,3}[ .-][0-9]{4,8}(?![0-9A-Za-z])', '[phone]'),
    ('phone', '(?<![0-9A-Za-z])\+?(1|7|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|2[1-689][0-9]|3[578][0-9]|42[0-9]|5[09][0-9]|6[7-9][0-9]|8[0357-9][0-9]|9[679][0-9])[0-9]{4,10}([0-9]{2})(?![0-9A-Za-z])', '+\1******\2'),
    ('email', '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]')
  ) as r (rule, pattern, replacement);
end;

comment on function hookline.masking_rules() is
  'Migration-owned. The patterns that mask personal data in free text, in the order applied: WhatsApp message ids become wamid.[masked], phone numbers written with separators (+49 151 12345678, (650) 555-1234, 650-555-1234) [phone], phone numbers as digits keep the country code and the last two digits, e-mail addresses [email]. Used by hookline.mask_text and by the runner''s and ingress''s logs. Errors: none.';

-- mask_text applies the rules as one nested regexp_replace expression, written here from
-- hookline.masking_rules() (so the rules stay the one definition): faster than reading the
-- rules on every call (benchmarks/operator_views.py), and the operator views mask every row.
do $$
declare
  v_expr text := 'mask_text.value';
  v_rule record;
begin
  for v_rule in select r.pattern, r.replacement from hookline.masking_rules() with ordinality as r (rule, pattern, replacement, n) order by r.n loop
    v_expr := pg_catalog.format('pg_catalog.regexp_replace(%s, %L, %L, ''g'')', v_expr, v_rule.pattern, v_rule.replacement);
  end loop;
  execute pg_catalog.format($f$create or replace function hookline.mask_text(value text)
returns text
language sql
immutable
set search_path = ''
begin atomic
  select %s;
end$f$, v_expr);
end
$$;

comment on function hookline.mask_text(text) is
  'Migration-owned. Free text with the hookline.masking_rules() applied in order (message ids, phone numbers and e-mail addresses masked); its body is written from the rules by the migration that defines them. Errors: none.';

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

create function hookline.mask_json(value jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case pg_catalog.jsonb_typeof(mask_json.value)
    when 'object' then coalesce((
      select pg_catalog.jsonb_object_agg(e.key, hookline.mask_json(e.value))
      from pg_catalog.jsonb_each(mask_json.value) e), '{}'::jsonb)
    when 'array' then coalesce((
      select pg_catalog.jsonb_agg(hookline.mask_json(a.value) order by a.n)
      from pg_catalog.jsonb_array_elements(mask_json.value) with ordinality as a (value, n)), '[]'::jsonb)
    when 'string' then pg_catalog.to_jsonb(hookline.mask_text(mask_json.value #>> '{}'))
    else mask_json.value
  end;
end
$$;

comment on function hookline.mask_json(jsonb) is
  'Migration-owned. A JSON value with every string through hookline.mask_text (keys, numbers and structure kept): the audit log''s before and after as operators see them. Errors: none.';

-- The key of the keyed hash of external ids: random, made once at deploy, owner only. It
-- keeps an operator from confirming a guessed number by hashing its wamid himself.
create table hookline.masking_key (
  is_key boolean primary key default true,
  key bytea not null,
  constraint masking_key_one_row check (is_key)
);

comment on table hookline.masking_key is 'The key of hookline.mask_external_id (one row, random, owner only).';
comment on column hookline.masking_key.is_key is 'Always true: the table has one row.';
comment on column hookline.masking_key.key is '64 random bytes (four version 4 UUIDs).';

insert into hookline.masking_key (key)
select pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text
  || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex');

-- Not granted to anyone: it reads the key, so only the owner's functions (the SECURITY DEFINER
-- functions behind the operator views) call it. sha256(key || sha256(key || id)): a keyed hash
-- that length extension does not touch.
create function hookline.mask_external_id(value text)
returns text
language sql
stable
set search_path = ''
begin atomic
  select case
    when mask_external_id.value like 'wamid.%' then 'wamid.#' || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(
      k.key || pg_catalog.sha256(k.key || pg_catalog.convert_to(mask_external_id.value, 'UTF8'))), 'hex'), 20)
    else mask_external_id.value
  end
  from hookline.masking_key k;
end;

comment on function hookline.mask_external_id(text) is
  'Migration-owned. An external id as operators see it: a WhatsApp message id (it encodes the user''s number) as wamid.# and 20 hex digits of a keyed hash (the same id always gives the same value, so rows still correlate; the owner can compute it to find one), any other id as it is. Owner only (it reads hookline.masking_key). Errors: none.';

revoke all on function hookline.mask_json(jsonb), hookline.mask_external_id(text) from public;
grant execute on function hookline.mask_json(jsonb) to hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('function_masking_formatted');

COMMIT;
