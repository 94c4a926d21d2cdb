-- Revert hookline:table_endpoints_body_format from pg

BEGIN;

alter table hookline.endpoints drop column body_format;

COMMIT;
