-- Revert hookline:table_deliveries_hot_path from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.deliveries_in_flight_idx;
alter table hookline.deliveries reset (fillfactor, autovacuum_vacuum_cost_delay);
alter table hookline.deliveries set (
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_threshold = 1000,
  autovacuum_analyze_threshold = 1000
);

delete from hookline.schema_changes where change = 'table_deliveries_hot_path';

COMMIT;
