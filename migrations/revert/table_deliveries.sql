-- Revert hookline:table_deliveries from pg

BEGIN;

drop table hookline.deliveries;

COMMIT;
