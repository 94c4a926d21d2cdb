-- Revert hookline:table_outbox_policy from pg

BEGIN;

drop policy outbox_tenant_isolation on hookline.outbox;
alter table hookline.outbox no force row level security;
alter table hookline.outbox disable row level security;

COMMIT;
