-- Deploy hookline:table_deliveries_hot_path to pg
-- requires: table_deliveries
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- claim counts an endpoint's unexpired leases before it fills the endpoint's room. Through the
-- (endpoint_id, next_attempt_at) index that count read every row due later (retries waiting
-- for hours included), so it grew with the backlog; this index holds the leased rows only (at
-- most max_in_flight per endpoint, plus expired leases until they are claimed or rescued).
-- deliveries holds the live queue only, so a plain build is short (writes wait for it);
-- CONCURRENTLY cannot run inside the change's transaction.
-- squawk-ignore require-concurrent-index-creation
create index deliveries_in_flight_idx on hookline.deliveries (endpoint_id, next_attempt_at)
  where state = 'in_flight';

-- Every claim and every retry changes next_attempt_at (indexed: it is the due order), so those
-- updates cannot be HOT. A page with free room still takes the new version of a row on the same
-- page (fewer pages dirtied, one write of the page instead of two), so the table keeps 10 %
-- free. Autovacuum runs by dead-tuple count (not a fraction of a table whose size says nothing
-- about its churn) and without cost-based sleeps, so one run keeps up with a busy queue.
alter table hookline.deliveries set (
  fillfactor = 90,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_threshold = 1000,
  autovacuum_analyze_threshold = 5000
);

comment on index hookline.deliveries_in_flight_idx is 'Unexpired and expired leases per endpoint: claim counts an endpoint''s in-flight deliveries here.';

insert into hookline.schema_changes (change) values ('table_deliveries_hot_path');

COMMIT;
