-- Verify hookline:table_event_keys from pg

BEGIN;

select source_id, external_id, event_id, received_at from hookline.event_keys where false;

ROLLBACK;
