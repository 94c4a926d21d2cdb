create or replace function hookline._parse_body(
  body text,
  out value jsonb,
  out error_code text,
  out error_message text
)
language plpgsql
immutable
-- Strict: hookline.receive_many passes null for the bodies it parsed as a group (nearly
-- always all of them), and a null argument skips the call (its block is a subtransaction).
strict
set search_path = ''
as $$
begin
  -- One request's body, parsed on its own: a body jsonb cannot read (not JSON, \u0000, nested
  -- too deeply) is that request's error, never its group's. The block is a subtransaction
  -- that writes nothing, so it takes no transaction id.
  value := _parse_body.body::jsonb;
exception when data_exception or program_limit_exceeded then
  get stacked diagnostics error_code = returned_sqlstate, error_message = message_text;
end
$$;

comment on function hookline._parse_body(text) is
  'Private, for hookline.receive_many: the body parsed as jsonb (null: null), or (null, SQLSTATE, message) when jsonb cannot read it (a data exception such as 22P02 invalid JSON or 22P05 \u0000, or 54001 nested too deeply). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._parse_body(text) from public;
