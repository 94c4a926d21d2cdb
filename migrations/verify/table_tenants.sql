-- Verify hookline:table_tenants from pg

BEGIN;

select tenant_id, display_name, created_at from hookline.tenants where false;

ROLLBACK;
