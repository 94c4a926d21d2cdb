-- Verify hookline:table_wave4_xmin_lease_order from pg

BEGIN;

select lease_order from hookline.deliveries where false;
select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'deliveries_lease_order_idx';
select pg_catalog.nextval('hookline.deliveries_lease_order_seq') where false;

ROLLBACK;
