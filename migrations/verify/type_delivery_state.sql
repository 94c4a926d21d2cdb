-- Verify hookline:type_delivery_state from pg

BEGIN;

select 'pending'::hookline.delivery_state, 'in_flight'::hookline.delivery_state, 'retrying'::hookline.delivery_state,
  'succeeded'::hookline.delivery_state, 'dead'::hookline.delivery_state, 'discarded'::hookline.delivery_state;

ROLLBACK;
