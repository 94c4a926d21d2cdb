-- Revert hookline:table_sources_policy from pg

BEGIN;

drop policy sources_tenant_isolation on hookline.sources;
alter table hookline.sources no force row level security;
alter table hookline.sources disable row level security;

COMMIT;
