-- Revert hookline:table_events from pg

BEGIN;

delete from hookline.partition_policies where table_name = 'events';
drop table hookline.events;

COMMIT;
