-- Verify hookline:table_graph_error_codes from pg

BEGIN;

select code_from, code_to, error_class, retry_delay, description from hookline.graph_error_codes where false;

ROLLBACK;
