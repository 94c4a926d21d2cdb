-- Verify hookline:table_dead_letters_error_class from pg

BEGIN;

select error_class from hookline.dead_letters where false;

ROLLBACK;
