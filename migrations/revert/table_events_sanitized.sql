-- Revert hookline:table_events_sanitized from pg

BEGIN;

alter table hookline.events drop column sanitized;

COMMIT;
