-- Revert hookline:table_dead_letters_policy from pg

BEGIN;

drop policy dead_letters_tenant_isolation on hookline.dead_letters;
alter table hookline.dead_letters no force row level security;
alter table hookline.dead_letters disable row level security;

COMMIT;
