-- Deploy hookline:table_circuit_breakers_probe_sample to pg
-- requires: table_circuit_breakers
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Half-open no longer closes on consecutive successes and reopens on the first failed probe
-- (that starved an endpoint that still succeeded one time in three: issue 12). It admits
-- `probes` requests in flight and decides on the success ratio of each sample of `probes`
-- results (docs/delivery.md, "Circuit breakers"). A ratio needs a sample: ten by default.
-- Breakers still at the old default of 2 move to 10; other values were set by an operator.
alter table hookline.circuit_breakers alter column probes set default 10;
update hookline.circuit_breakers set probes = 10 where probes = 2;

comment on column hookline.circuit_breakers.probes is 'Half-open: requests in flight at most, and the size of each sample whose success ratio decides: closed when fewer than failure_rate / 2 of it failed, open again when fewer than (1 - failure_rate) / 5 of it succeeded, else another sample.';
comment on column hookline.circuit_breakers.half_open_successes is 'Successful results in the current half-open sample.';

insert into hookline.schema_changes (change) values ('table_circuit_breakers_probe_sample');

COMMIT;
