-- Verify hookline:table_circuit_breakers_probe_sample from pg

BEGIN;

select 1 / count(*) from information_schema.columns
where table_schema = 'hookline' and table_name = 'circuit_breakers' and column_name = 'probes'
  and column_default = '10';

ROLLBACK;
