-- Revert hookline:table_schema_changes from pg

BEGIN;

drop table hookline.schema_changes;

COMMIT;
