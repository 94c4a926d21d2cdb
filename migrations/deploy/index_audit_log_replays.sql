-- Deploy hookline:index_audit_log_replays to pg
-- requires: table_audit_log
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- hookline.metric_gauges() sums the replayed deliveries per tenant from the replay rows of the
-- audit log (one per replay call and tenant, with its count): this index holds those rows
-- only, so the sum costs the number of replays, not the size of the audit log.
-- The audit log holds operator actions only (no row per event), so a plain build is short;
-- CONCURRENTLY cannot run inside the change's transaction.
-- squawk-ignore require-concurrent-index-creation
create index audit_log_replays_idx on hookline.audit_log (tenant_id)
  where action = 'delivery.replay';

insert into hookline.schema_changes (change) values ('index_audit_log_replays');

COMMIT;
