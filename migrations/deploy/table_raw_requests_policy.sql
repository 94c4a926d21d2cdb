-- Deploy hookline:table_raw_requests_policy to pg
-- requires: table_raw_requests
-- requires: table_role_tenants

BEGIN;

-- No grants: only the owner touches the table; others go through functions and views. Row
-- level security, forced so that it binds the owner too, keeps every role to its tenants.
alter table hookline.raw_requests enable row level security;
alter table hookline.raw_requests force row level security;
create policy raw_requests_tenant_isolation on hookline.raw_requests
  using ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]))
  with check ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]));
comment on policy raw_requests_tenant_isolation on hookline.raw_requests is
  'Rows of the tenants the caller acts for (owners, runners and the ingress see every tenant; the helpers run once per query).';

COMMIT;
