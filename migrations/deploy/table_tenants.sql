-- Deploy hookline:table_tenants to pg
-- requires: schema_hookline

BEGIN;

create table hookline.tenants (
  tenant_id text primary key,
  display_name text not null,
  created_at timestamptz not null default now(),
  constraint tenants_tenant_id_format check (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$')
);

comment on table hookline.tenants is 'Tenants: the unit of isolation. Every tenant-scoped row carries its tenant_id.';
comment on column hookline.tenants.tenant_id is 'Stable key chosen by the operator: lowercase letters, digits, _ and -, at most 63 characters.';
comment on column hookline.tenants.display_name is 'Human-readable name.';
comment on column hookline.tenants.created_at is 'When the tenant was created.';

COMMIT;
