create or replace function hookline.grant_tenant(role_name text, tenant_id text, reason text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_roles r where r.rolname = grant_tenant.role_name) then
    raise exception using
      errcode = 'HL081',
      message = format('unknown role %L', grant_tenant.role_name),
      hint = 'Create the role first (create role acme_ops nologin in role hookline_operator).';
  end if;
  if not exists (select from hookline.tenants t where t.tenant_id = grant_tenant.tenant_id) then
    raise exception using errcode = 'HL044', message = format('unknown tenant %L', grant_tenant.tenant_id);
  end if;
  perform pg_catalog.set_config('hookline.reason', coalesce(grant_tenant.reason, ''), true);
  insert into hookline.role_tenants (role_name, tenant_id)
  values (grant_tenant.role_name, grant_tenant.tenant_id)
  on conflict do nothing;
  return found;
end
$$;

comment on function hookline.grant_tenant(text, text, text) is
  'Lets a role (and every role that has its privileges) see and act on a tenant''s rows. Idempotent: returns false when the mapping existed. Audited (role_tenants.insert). Errors: HL081 unknown role; HL044 unknown tenant.';

-- Owner only: the mapping is the security boundary between tenants.
revoke all on function hookline.grant_tenant(text, text, text) from public;
