-- Revert hookline:table_tenants_dead_letter_retention from pg

BEGIN;

alter table hookline.tenants drop column dead_letter_retention;

COMMIT;
