create or replace function hookline._drop_partition(parent text, day date)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_lock_timeout text;
  v_name text := _drop_partition.parent || '_p' || to_char(_drop_partition.day, 'YYYYMMDD');
begin
  if not exists (select from hookline.partition_policies p where p.table_name = _drop_partition.parent) then
    raise exception using
      errcode = 'HL010',
      message = format('table %s is not a day-partitioned hookline table', _drop_partition.parent),
      hint = 'The tables are listed in hookline.partition_policies.';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.partition:' || _drop_partition.parent));
  if pg_catalog.to_regclass(format('hookline.%I', v_name)) is null then
    return null;
  end if;
  -- As in _create_partition: wait for the parent's lock briefly, and leave a busy table's old
  -- partition to the next run rather than risk a deadlock with ingest or claim.
  v_lock_timeout := pg_catalog.current_setting('lock_timeout');
  begin
    perform pg_catalog.set_config('lock_timeout', '50ms', true);
    execute format('drop table hookline.%I', v_name);
    perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  exception when lock_not_available then
    raise notice 'hookline: % is busy; dropping % postponed to the next run', _drop_partition.parent, v_name;
    return null;
  end;
  return v_name;
end
$$;

comment on function hookline._drop_partition(text, date) is
  'Private. Drops the day partition <parent>_pYYYYMMDD, with its rows, if it exists. Returns the name dropped, or null (missing, or its table busy for 50 ms: the next run drops it). Errors: HL010 parent is not in hookline.partition_policies.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._drop_partition(text,date) from public;
