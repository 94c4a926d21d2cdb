-- Revert hookline:table_stats_snapshots from pg

BEGIN;

delete from hookline.partition_policies where table_name = 'stats_snapshots';
drop table hookline.stats_snapshots;

COMMIT;
