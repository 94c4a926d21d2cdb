-- Revert hookline:table_events_whatsapp_columns from pg

BEGIN;

alter table hookline.events
  drop column request_id,
  drop column phone_number_id,
  drop column user_id,
  drop column wa_id;

COMMIT;
