-- Verify hookline:table_events_sanitized from pg

BEGIN;

select sanitized from hookline.events where false;

ROLLBACK;
