-- Purpose: the circuit breaker of each endpoint (open, half-open, closed) and since when.
-- Variables: none.
-- Example: psql "$HOOKLINE_DSN" -f sql/circuit_states.sql
-- Reads: hookline.circuit_states once the outbound work (circuit breakers) provides it;
--        until then it says so and reads nothing.
select to_regclass('hookline.circuit_states') is not null as has_circuits \gset
\if :has_circuits
select * from hookline.circuit_states order by 1;
\else
\echo 'no circuit breakers in this schema yet (hookline.circuit_states does not exist)'
\endif
