-- Verify hookline:table_events_whatsapp_columns from pg

BEGIN;

select request_id, phone_number_id, user_id, wa_id from hookline.events where false;

ROLLBACK;
