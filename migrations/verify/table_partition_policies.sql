-- Verify hookline:table_partition_policies from pg

BEGIN;

select table_name, premake_days, retention from hookline.partition_policies where false;

ROLLBACK;
