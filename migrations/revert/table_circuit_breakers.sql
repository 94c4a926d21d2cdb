-- Revert hookline:table_circuit_breakers from pg

BEGIN;

drop table hookline.breaker_transitions;
drop table hookline.circuit_breakers;

COMMIT;
