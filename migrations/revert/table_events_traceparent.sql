-- Revert hookline:table_events_traceparent from pg

BEGIN;

set local lock_timeout = '5s';

alter table hookline.events drop column traceparent;

delete from hookline.schema_changes where change = 'table_events_traceparent';

COMMIT;
