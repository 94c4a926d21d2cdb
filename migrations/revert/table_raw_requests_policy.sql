-- Revert hookline:table_raw_requests_policy from pg

BEGIN;

drop policy raw_requests_tenant_isolation on hookline.raw_requests;
alter table hookline.raw_requests no force row level security;
alter table hookline.raw_requests disable row level security;

COMMIT;
