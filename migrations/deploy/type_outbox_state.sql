-- Deploy hookline:type_outbox_state to pg
-- requires: schema_hookline

BEGIN;

create type hookline.outbox_state as enum (
  'queued', 'sending', 'unconfirmed', 'sent', 'delivered', 'read', 'failed', 'dead'
);
comment on type hookline.outbox_state is 'Life of an outbound WhatsApp message: queued, sending (leased), unconfirmed (an ambiguous send waiting for a status webhook), sent (wamid known), delivered, read; failed (permanent) and dead (retries exhausted) are final (docs/outbound.md).';

COMMIT;
