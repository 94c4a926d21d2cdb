-- Revert hookline:table_senders_policy from pg

BEGIN;

drop policy senders_tenant_isolation on hookline.senders;
alter table hookline.senders no force row level security;
alter table hookline.senders disable row level security;

COMMIT;
