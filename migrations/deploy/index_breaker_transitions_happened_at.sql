-- Deploy hookline:index_breaker_transitions_happened_at to pg
-- requires: table_circuit_breakers
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- apply_retention deletes breaker transitions older than 30 days every hour; without an index
-- on happened_at each run read every transition kept (the (target, happened_at) index starts
-- with the target). With it, a run reads what it deletes.
-- Transitions are written when a breaker changes state (a few a minute at most), so a plain
-- build is short; CONCURRENTLY cannot run inside the change's transaction.
-- squawk-ignore require-concurrent-index-creation
create index breaker_transitions_happened_at_idx on hookline.breaker_transitions (happened_at);

insert into hookline.schema_changes (change) values ('index_breaker_transitions_happened_at');

COMMIT;
