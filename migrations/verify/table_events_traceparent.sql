-- Verify hookline:table_events_traceparent from pg

BEGIN;

select traceparent from hookline.events where false;

ROLLBACK;
