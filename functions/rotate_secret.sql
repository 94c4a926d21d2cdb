create or replace function hookline.rotate_secret(source text, secret text)
returns table (
  name text,
  tenant_id text,
  kind text,
  secret_count integer,
  has_verify_token boolean,
  max_body_bytes integer,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
set search_path = ''
as $$
begin
  if coalesce(rotate_secret.secret, '') = '' then
    raise exception using errcode = 'HL043', message = 'the new secret must not be empty';
  end if;
  -- The new secret goes first, the current one stays second: bodies signed with either verify
  -- until hookline.retire_secret drops the old one. Rotating to the current secret changes nothing.
  update hookline.sources s
  set signing_secrets = array[rotate_secret.secret, s.signing_secrets[1]], updated_at = pg_catalog.now()
  where s.name = rotate_secret.source and s.signing_secrets[1] <> rotate_secret.secret;
  return query select * from hookline.show_source(rotate_secret.source);
end
$$;

comment on function hookline.rotate_secret(text, text) is
  'Starts a secret rotation: the new secret becomes the first, the current one is kept as the second (an older second one is dropped), and bodies signed with either are accepted until hookline.retire_secret. Rotating to the current secret changes nothing. Errors: HL001 unknown source; HL043 empty secret.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.rotate_secret(text,text) from public;
