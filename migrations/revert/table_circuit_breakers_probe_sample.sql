-- Revert hookline:table_circuit_breakers_probe_sample from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.circuit_breakers alter column probes set default 2;
comment on column hookline.circuit_breakers.probes is 'Half-open: requests in flight at most, and successes needed to close.';
comment on column hookline.circuit_breakers.half_open_successes is 'Successful probes since the breaker became half-open.';

delete from hookline.schema_changes where change = 'table_circuit_breakers_probe_sample';

COMMIT;
