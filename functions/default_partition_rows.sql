create or replace function hookline.default_partition_rows()
returns table (table_name text, day date, row_count bigint)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_policy record;
  v_key text;
begin
  for v_policy in select p.table_name from hookline.partition_policies p order by 1 loop
    select a.attname into strict v_key
    from pg_catalog.pg_partitioned_table pt
    join pg_catalog.pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
    where pt.partrelid = format('hookline.%I', v_policy.table_name)::regclass;

    return query execute format(
      'select %L::text, (%I at time zone ''UTC'')::date, count(*) from hookline.%I group by 2 order by 2',
      v_policy.table_name, v_key, v_policy.table_name || '_default'
    );
  end loop;
end
$$;

comment on function hookline.default_partition_rows() is
  'Rows sitting in the default partitions, counted per table and UTC day. Empty when partition maintenance keeps up; hookline.repair_default_partitions() moves them. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.default_partition_rows() from public;
