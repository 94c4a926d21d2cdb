-- Revert hookline:table_partition_policies from pg

BEGIN;

drop table hookline.partition_policies;

COMMIT;
