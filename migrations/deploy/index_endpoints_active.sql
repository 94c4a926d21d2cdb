-- Deploy hookline:index_endpoints_active to pg
-- requires: table_endpoints
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- claim and next_due read every active endpoint on each call (its due work is probed per
-- endpoint). Without an index on "active", that read took every endpoint row, paused and
-- disabled ones too: beside 10,000 paused endpoints, a drain of one endpoint cost 48.9 µs of
-- CPU per delivery against 37.0 with this index (batch 100, benchmarks/queue_cpu.py). The
-- index holds only the active endpoints' ids, so the read follows them.
-- why: endpoints has a row per handler (thousands at most), so a plain build takes
-- milliseconds; CONCURRENTLY cannot run inside the change's transaction
-- squawk-ignore require-concurrent-index-creation
create index endpoints_active_idx on hookline.endpoints (endpoint_id) where state = 'active';

insert into hookline.schema_changes (change) values ('index_endpoints_active');

COMMIT;
