-- Revert hookline:table_dead_letters from pg

BEGIN;

drop table hookline.dead_letters;

COMMIT;
