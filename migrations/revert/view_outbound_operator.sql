-- Revert hookline:view_outbound_operator from pg

BEGIN;

drop view hookline.outbox_messages;
drop view hookline.circuit_states;

COMMIT;
