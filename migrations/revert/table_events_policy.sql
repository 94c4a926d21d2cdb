-- Revert hookline:table_events_policy from pg

BEGIN;

drop policy events_tenant_isolation on hookline.events;
alter table hookline.events no force row level security;
alter table hookline.events disable row level security;

COMMIT;
