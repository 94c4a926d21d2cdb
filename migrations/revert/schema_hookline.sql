-- Revert hookline:schema_hookline from pg

BEGIN;

drop schema hookline;

COMMIT;
