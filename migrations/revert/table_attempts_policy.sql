-- Revert hookline:table_attempts_policy from pg

BEGIN;

drop policy attempts_tenant_isolation on hookline.attempts;
alter table hookline.attempts no force row level security;
alter table hookline.attempts disable row level security;

COMMIT;
