-- Deploy hookline:function_audit_trail_page_jit to pg
-- requires: view_operator_rows_by_key
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- audit_trail_page forbids sequential and bitmap scans; a node the planner must still use
-- costs 10^10 then, past jit_above_cost, and a plan with one is JIT-compiled on every call
-- (0.5 s for a read of five rows). No JIT, as every function with such a setting
-- (tests/migration/test_layout.py). ALTER FUNCTION keeps its grants.
alter function hookline.audit_trail_page(text, text, timestamptz, integer) set jit = off;

insert into hookline.schema_changes (change) values ('function_audit_trail_page_jit');

COMMIT;
