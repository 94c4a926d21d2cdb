-- Revert hookline:index_dead_letters_event_received_at from pg

BEGIN;

drop index hookline.dead_letters_event_received_at_idx;

COMMIT;
