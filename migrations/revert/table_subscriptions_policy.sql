-- Revert hookline:table_subscriptions_policy from pg

BEGIN;

drop policy subscriptions_tenant_isolation on hookline.subscriptions;
alter table hookline.subscriptions no force row level security;
alter table hookline.subscriptions disable row level security;

COMMIT;
