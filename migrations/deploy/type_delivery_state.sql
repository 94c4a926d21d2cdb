-- Deploy hookline:type_delivery_state to pg
-- requires: schema_hookline

BEGIN;

create type hookline.delivery_state as enum ('pending', 'in_flight', 'retrying', 'succeeded', 'dead', 'discarded');
comment on type hookline.delivery_state is 'Life of a delivery: pending, in_flight, retrying live in hookline.deliveries; dead and discarded in hookline.dead_letters; succeeded only in hookline.attempts (docs/delivery.md).';

COMMIT;
