-- Revert hookline:table_graph_error_codes from pg

BEGIN;

drop table hookline.graph_error_codes;

COMMIT;
