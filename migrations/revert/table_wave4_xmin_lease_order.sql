-- Revert hookline:table_wave4_xmin_lease_order from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.deliveries_lease_order_idx;
alter table hookline.deliveries drop column lease_order;
drop sequence hookline.deliveries_lease_order_seq;

delete from hookline.schema_changes where change = 'table_wave4_xmin_lease_order';

COMMIT;
