-- Revert hookline:table_endpoints_body_format from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.endpoints drop column body_format;

delete from hookline.schema_changes where change = 'table_endpoints_body_format';

COMMIT;
