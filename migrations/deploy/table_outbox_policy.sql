-- Deploy hookline:table_outbox_policy to pg
-- requires: table_outbox
-- requires: table_role_tenants

BEGIN;

-- No grants: only the owner touches the table; others go through functions and views. Row
-- level security, forced so that it binds the owner too, keeps every role to its tenants.
alter table hookline.outbox enable row level security;
alter table hookline.outbox force row level security;
create policy outbox_tenant_isolation on hookline.outbox
  using ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]))
  with check ((select hookline._sees_all_tenants()) or tenant_id = any ((select hookline._mapped_tenants())::text[]));
comment on policy outbox_tenant_isolation on hookline.outbox is
  'Rows of the tenants the caller acts for (owners, runners and the ingress see every tenant; the helpers run once per query).';

COMMIT;
