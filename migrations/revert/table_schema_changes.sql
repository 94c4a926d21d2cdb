-- Revert hookline:table_schema_changes from pg

BEGIN;

set local lock_timeout = '5s';

drop function hookline.schema_version();
drop table hookline.schema_changes;

COMMIT;
