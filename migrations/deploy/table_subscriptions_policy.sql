-- Deploy hookline:table_subscriptions_policy to pg
-- requires: table_subscriptions
-- requires: table_role_tenants

BEGIN;

-- No grants: only the owner touches the table; others go through functions and views. Row
-- level security, forced so that it binds the owner too, keeps every role to its tenants.
alter table hookline.subscriptions enable row level security;
alter table hookline.subscriptions force row level security;
create policy subscriptions_tenant_isolation on hookline.subscriptions
  using (hookline._tenant_visible(tenant_id))
  with check (hookline._tenant_visible(tenant_id));
comment on policy subscriptions_tenant_isolation on hookline.subscriptions is
  'Rows of the tenants the caller acts for (hookline._tenant_visible: owners, runners and the ingress see every tenant).';

COMMIT;
