-- Deploy hookline:table_role_tenants to pg
-- requires: table_tenants
-- requires: role_hookline

BEGIN;

-- Which database roles act for which tenants. Only the owner reads or changes it (no grants;
-- hookline.grant_tenant and hookline.revoke_tenant are owner-only and audited). Keyed by role
-- name: a login role acts for a tenant when it has the privileges of a mapped role
-- (pg_has_role ... 'usage'), so a DBA maps a group role such as acme_ops once and grants it to
-- people. Not a GUC: a session cannot SET its way into another tenant.
create table hookline.role_tenants (
  role_name name not null,
  tenant_id text not null references hookline.tenants (tenant_id) on delete cascade,
  granted_at timestamptz not null default pg_catalog.now(),
  constraint role_tenants_pkey primary key (role_name, tenant_id)
);

create index role_tenants_tenant_id_idx on hookline.role_tenants (tenant_id);

comment on table hookline.role_tenants is 'The role-to-tenant mapping that row level security and the operator functions check. Owner only.';
comment on column hookline.role_tenants.role_name is 'A database role (usually a NOLOGIN group role that is a member of hookline_operator or hookline_readonly).';
comment on column hookline.role_tenants.tenant_id is 'A tenant the role may see and act on.';
comment on column hookline.role_tenants.granted_at is 'When the mapping was added.';

-- The caller: the role a session acts as. Inside a SECURITY DEFINER function current_user is
-- the function's owner, so it cannot say who called; the role setting (SET ROLE, checked by
-- PostgreSQL against membership, and refused inside SECURITY DEFINER functions) and
-- session_user (the login role) can. Outside DEFINER functions this equals current_user.
create function hookline._caller()
returns name
language sql
stable
set search_path = ''
begin atomic
  select coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
end;

comment on function hookline._caller() is
  'Migration-owned, private. The role the session acts as (SET ROLE if set, else the login role), the same inside SECURITY DEFINER functions. Errors: none.';

create function hookline._sees_all_tenants()
returns boolean
language sql
stable
set search_path = ''
begin atomic
  select pg_catalog.pg_has_role(hookline._caller(), 'hookline_owner', 'usage')
    or pg_catalog.pg_has_role(hookline._caller(), 'hookline_runner', 'usage')
    or pg_catalog.pg_has_role(hookline._caller(), 'hookline_ingest', 'usage');
end;

comment on function hookline._sees_all_tenants() is
  'Migration-owned, private. Whether the caller acts for every tenant: superusers and members of hookline_owner, hookline_runner or hookline_ingest. Errors: none.';

-- SECURITY DEFINER: it reads hookline.role_tenants, which no caller may read; it returns only
-- the caller's own tenants.
create function hookline._mapped_tenants()
returns text[]
language sql
stable
security definer
set search_path = ''
begin atomic
  select coalesce(pg_catalog.array_agg(m.tenant_id), '{}')
  from hookline.role_tenants m
  join pg_catalog.pg_roles r on r.rolname = m.role_name
  where pg_catalog.pg_has_role(hookline._caller(), r.oid, 'usage');
end;

comment on function hookline._mapped_tenants() is
  'Migration-owned, private. The tenants hookline.role_tenants maps to roles whose privileges the caller has. SECURITY DEFINER to read the mapping; returns only the caller''s own. Errors: none.';

create function hookline._tenant_visible(tenant_id text)
returns boolean
language sql
stable
set search_path = ''
begin atomic
  select hookline._sees_all_tenants() or _tenant_visible.tenant_id = any (hookline._mapped_tenants());
end;

comment on function hookline._tenant_visible(text) is
  'Migration-owned, private. Whether the caller may see and act on rows of the tenant, row by row (the operator functions use it; policies and views use its two parts as init plans). Errors: none.';

revoke all on function hookline._caller(), hookline._sees_all_tenants(), hookline._mapped_tenants(), hookline._tenant_visible(text) from public;
grant execute on function hookline._caller(), hookline._sees_all_tenants(), hookline._mapped_tenants(), hookline._tenant_visible(text)
  to hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

COMMIT;
