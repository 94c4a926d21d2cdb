-- Revert hookline:table_events_traceparent from pg

BEGIN;

alter table hookline.events drop column traceparent;

COMMIT;
