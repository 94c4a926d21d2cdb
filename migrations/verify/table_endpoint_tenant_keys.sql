-- Verify hookline:table_endpoint_tenant_keys from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_constraint
where conname = 'endpoints_endpoint_id_tenant_id_key' and contype = 'u';
select 1 / (count(*) = 3)::integer from pg_catalog.pg_constraint
where conname in ('deliveries_endpoint_tenant_fkey', 'dead_letters_endpoint_tenant_fkey',
                  'subscriptions_endpoint_tenant_fkey')
  and contype = 'f' and convalidated and pg_catalog.cardinality(conkey) = 2;
select 1 / (count(*) = 0)::integer from pg_catalog.pg_constraint
where conname in ('deliveries_endpoint_id_fkey', 'dead_letters_endpoint_id_fkey',
                  'subscriptions_endpoint_id_fkey');

ROLLBACK;
