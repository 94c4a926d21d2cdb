-- Revert hookline:type_delivery_state from pg

BEGIN;

drop type hookline.delivery_state;

COMMIT;
