-- Deploy hookline:index_dead_letters_event_received_at to pg
-- requires: table_dead_letters

BEGIN;

-- apply_retention keeps an events partition while a dead letter still points into it.
create index dead_letters_event_received_at_idx on hookline.dead_letters (event_received_at);

COMMIT;
