-- Verify hookline:table_tenants_dead_letter_retention from pg

BEGIN;

select dead_letter_retention from hookline.tenants where false;

ROLLBACK;
