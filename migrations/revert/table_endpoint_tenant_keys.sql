-- Revert hookline:table_endpoint_tenant_keys from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.subscriptions
  add constraint subscriptions_endpoint_id_fkey foreign key (endpoint_id)
  references hookline.endpoints (endpoint_id) on delete cascade;
alter table hookline.subscriptions drop constraint subscriptions_endpoint_tenant_fkey;
alter table hookline.dead_letters
  add constraint dead_letters_endpoint_id_fkey foreign key (endpoint_id)
  references hookline.endpoints (endpoint_id);
alter table hookline.dead_letters drop constraint dead_letters_endpoint_tenant_fkey;
alter table hookline.deliveries
  add constraint deliveries_endpoint_id_fkey foreign key (endpoint_id)
  references hookline.endpoints (endpoint_id);
alter table hookline.deliveries drop constraint deliveries_endpoint_tenant_fkey;
alter table hookline.endpoints drop constraint endpoints_endpoint_id_tenant_id_key;

delete from hookline.schema_changes where change = 'table_endpoint_tenant_keys';

COMMIT;
