-- Revert hookline:table_audit_log_policy from pg

BEGIN;

drop policy audit_log_tenant_isolation on hookline.audit_log;
alter table hookline.audit_log no force row level security;
alter table hookline.audit_log disable row level security;

COMMIT;
