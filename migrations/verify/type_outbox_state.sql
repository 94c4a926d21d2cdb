-- Verify hookline:type_outbox_state from pg

BEGIN;

select 'queued'::hookline.outbox_state, 'unconfirmed'::hookline.outbox_state, 'dead'::hookline.outbox_state;

ROLLBACK;
