create or replace function hookline._type_word(word text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when pg_catalog.lower(_type_word.word) ~ '^[a-z0-9_]{1,40}$' then pg_catalog.lower(_type_word.word)
              else 'unknown' end
$$;

comment on function hookline._type_word(text) is
  'Private: a word Meta sends (a message type, status, call event) as the last part of an event type: lower-cased, or unknown when it is missing or not a plain word (letters, digits, underscore, at most 40). Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._type_word(text) from public;
