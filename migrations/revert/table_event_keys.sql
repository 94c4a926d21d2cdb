-- Revert hookline:table_event_keys from pg

BEGIN;

drop table hookline.event_keys;

COMMIT;
