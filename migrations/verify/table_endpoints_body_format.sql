-- Verify hookline:table_endpoints_body_format from pg

BEGIN;

select body_format from hookline.endpoints where false;

ROLLBACK;
