create or replace function hookline.retire_secret(source text)
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
  -- Ends a rotation: only the newest secret stays. With one secret it changes nothing.
  update hookline.sources s
  set signing_secrets = s.signing_secrets[1:1], updated_at = pg_catalog.now()
  where s.name = retire_secret.source and pg_catalog.cardinality(s.signing_secrets) > 1;
  return query select * from hookline.show_source(retire_secret.source);
end
$$;

comment on function hookline.retire_secret(text) is
  'Ends a secret rotation: keeps only the newest signing secret, so bodies signed with the old one are refused from then on. A source with one secret is left as it is. Errors: HL001 unknown source.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.retire_secret(text) from public;
