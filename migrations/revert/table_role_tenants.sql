-- Revert hookline:table_role_tenants from pg

BEGIN;

drop function hookline._tenant_visible(text);
drop function hookline._mapped_tenants();
drop function hookline._sees_all_tenants();
drop function hookline._caller();
drop table hookline.role_tenants;

COMMIT;
