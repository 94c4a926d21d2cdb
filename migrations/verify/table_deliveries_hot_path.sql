-- Verify hookline:table_deliveries_hot_path from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'deliveries_in_flight_idx';
select 1 / count(*) from pg_catalog.pg_class
where oid = 'hookline.deliveries'::regclass and 'fillfactor=90' = any(reloptions);

ROLLBACK;
