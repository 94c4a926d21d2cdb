-- Deploy hookline:table_audit_log_policy to pg
-- requires: table_audit_log
-- requires: table_role_tenants

BEGIN;

-- No grants: only the owner touches the table; others go through functions and views. Row
-- level security, forced so that it binds the owner too, keeps every role to its tenants.
alter table hookline.audit_log enable row level security;
alter table hookline.audit_log force row level security;
create policy audit_log_tenant_isolation on hookline.audit_log
  using ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]))
  with check ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]));
comment on policy audit_log_tenant_isolation on hookline.audit_log is
  'Rows of the tenants the caller acts for (owners, runners and the ingress see every tenant; the helpers run once per query).';

COMMIT;
