-- Revert hookline:table_endpoints from pg

BEGIN;

drop table hookline.endpoints;

COMMIT;
