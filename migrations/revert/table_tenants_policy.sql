-- Revert hookline:table_tenants_policy from pg

BEGIN;

drop policy tenants_tenant_isolation on hookline.tenants;
alter table hookline.tenants no force row level security;
alter table hookline.tenants disable row level security;

COMMIT;
