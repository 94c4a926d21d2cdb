-- Verify hookline:table_tenants_allows_http from pg

BEGIN;

select allows_http from hookline.tenants where false;

ROLLBACK;
