-- Revert hookline:table_endpoints_policy from pg

BEGIN;

drop policy endpoints_tenant_isolation on hookline.endpoints;
alter table hookline.endpoints no force row level security;
alter table hookline.endpoints disable row level security;

COMMIT;
