create or replace function hookline.premake_partitions(now timestamptz default pg_catalog.now())
returns setof text
language plpgsql
set search_path = ''
as $$
declare
  v_policy record;
  v_today date := (premake_partitions.now at time zone 'UTC')::date;
  v_day date;
  v_created text;
begin
  for v_policy in select p.table_name, p.premake_days from hookline.partition_policies p order by 1 loop
    for v_day in
      select d::date from pg_catalog.generate_series(v_today - 1, v_today + v_policy.premake_days, interval '1 day') d
    loop
      v_created := hookline._create_partition(v_policy.table_name, v_day);
      if v_created is not null then
        return next v_created;
      elsif pg_catalog.to_regclass(format('hookline.%I_p%s', v_policy.table_name, to_char(v_day, 'YYYYMMDD'))) is null then
        exit;  -- the table is busy: leave its other days to the next run too, wait no more
      end if;
    end loop;
  end loop;
end
$$;

comment on function hookline.premake_partitions(timestamptz) is
  'Creates the day partitions of every table in hookline.partition_policies from yesterday to premake_days ahead of now (UTC days), moving rows of those days out of the default partitions; a table busy for 50 ms is left to the next run. Idempotent; returns the partitions it created. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.premake_partitions(timestamp with time zone) from public;
