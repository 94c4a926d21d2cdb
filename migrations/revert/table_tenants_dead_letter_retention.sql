-- Revert hookline:table_tenants_dead_letter_retention from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.tenants drop column dead_letter_retention;

delete from hookline.schema_changes where change = 'table_tenants_dead_letter_retention';

COMMIT;
