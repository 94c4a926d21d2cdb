-- Verify hookline:index_wave5_attempts_one_btree from pg

BEGIN;

select 1 / (1 - count(*)) from pg_catalog.pg_constraint
where conrelid = 'hookline.attempts'::regclass and conname = 'attempts_pkey';
select 1 / count(*) from pg_catalog.pg_indexes
where schemaname = 'hookline' and indexname = 'attempts_delivery_id_idx';

ROLLBACK;
