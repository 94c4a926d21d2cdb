-- Revert hookline:table_events_sanitized from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.events drop column sanitized;

delete from hookline.schema_changes where change = 'table_events_sanitized';

COMMIT;
