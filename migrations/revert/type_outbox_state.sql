-- Revert hookline:type_outbox_state from pg

BEGIN;

drop type hookline.outbox_state;

COMMIT;
