-- Revert hookline:table_tenants_allows_http from pg

BEGIN;

alter table hookline.tenants drop column allows_http;

COMMIT;
