create or replace function hookline.repair_default_partitions()
returns setof text
language plpgsql
set search_path = ''
as $$
declare
  v_row record;
  v_created text;
begin
  for v_row in select r.table_name, r.day from hookline.default_partition_rows() r loop
    v_created := hookline._create_partition(v_row.table_name, v_row.day);
    if v_created is not null then
      return next v_created;
    end if;
  end loop;
end
$$;

comment on function hookline.repair_default_partitions() is
  'Creates a day partition for every day that has rows in a default partition and moves those rows into it. Returns the partitions created. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.repair_default_partitions() from public;
