create or replace function hookline.list_sources()
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
language sql
stable
set search_path = ''
as $$
  select s.name, s.tenant_id, s.kind, pg_catalog.cardinality(s.signing_secrets), s.verify_token is not null,
         s.max_body_bytes, s.created_at, s.updated_at
  from hookline.sources s
  order by s.name
$$;

comment on function hookline.list_sources() is
  'Every source, by name, without its secrets: how many signing secrets it has (2 while rotating) and whether it has a verify token. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.list_sources() from public;
