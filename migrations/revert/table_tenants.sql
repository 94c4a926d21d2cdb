-- Revert hookline:table_tenants from pg

BEGIN;

drop table hookline.tenants;

COMMIT;
