-- Deploy hookline:table_events_whatsapp_columns to pg
-- requires: table_events
-- requires: table_raw_requests

BEGIN;

-- Nullable: events of other senders have none of these, and WhatsApp users with a username
-- may have no wa_id. Users are keyed by the business-scoped user_id.
alter table hookline.events
  add column request_id bigint,
  add column phone_number_id text,
  add column user_id text,
  add column wa_id text;

comment on column hookline.events.request_id is 'The raw request (hookline.raw_requests) whose body first carried the event; null when ingested directly.';
comment on column hookline.events.phone_number_id is 'WhatsApp: the business phone number id (value.metadata.phone_number_id); the routing key of a business number.';
comment on column hookline.events.user_id is 'WhatsApp: the business-scoped user id (BSUID: from_user_id, recipient_user_id or contacts[].user_id); the key of a user.';
comment on column hookline.events.wa_id is 'WhatsApp: the user''s WhatsApp id (contacts[].wa_id, else from/recipient_id); absent for some users with a username. Personal data.';

COMMIT;
