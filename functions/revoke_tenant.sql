create or replace function hookline.revoke_tenant(role_name text, tenant_id text, reason text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.set_config('hookline.reason', coalesce(revoke_tenant.reason, ''), true);
  delete from hookline.role_tenants m
  where m.role_name = revoke_tenant.role_name and m.tenant_id = revoke_tenant.tenant_id;
  return found;
end
$$;

comment on function hookline.revoke_tenant(text, text, text) is
  'Removes a role''s access to a tenant. Returns false when there was none. Audited (role_tenants.delete). Errors: none.';

-- Owner only: the mapping is the security boundary between tenants.
revoke all on function hookline.revoke_tenant(text, text, text) from public;
