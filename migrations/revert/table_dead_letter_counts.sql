-- Revert hookline:table_dead_letter_counts from pg

BEGIN;

set local lock_timeout = '5s';

drop trigger _500_count_insert on hookline.dead_letters;
drop trigger _500_count_update on hookline.dead_letters;
drop trigger _500_count_delete on hookline.dead_letters;
drop trigger _500_count_truncate on hookline.dead_letters;
drop function hookline._count_dead_letters();
drop table hookline.dead_letter_counts;

delete from hookline.schema_changes where change = 'table_dead_letter_counts';

COMMIT;
