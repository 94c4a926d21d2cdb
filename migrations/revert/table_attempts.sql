-- Revert hookline:table_attempts from pg

BEGIN;

delete from hookline.partition_policies where table_name = 'attempts';
drop table hookline.attempts;

COMMIT;
