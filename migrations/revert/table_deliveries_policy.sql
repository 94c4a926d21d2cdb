-- Revert hookline:table_deliveries_policy from pg

BEGIN;

drop policy deliveries_tenant_isolation on hookline.deliveries;
alter table hookline.deliveries no force row level security;
alter table hookline.deliveries disable row level security;

COMMIT;
