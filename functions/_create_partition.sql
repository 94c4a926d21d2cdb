create or replace function hookline._create_partition(parent text, day date)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_name text := _create_partition.parent || '_p' || to_char(_create_partition.day, 'YYYYMMDD');
  v_from timestamptz := _create_partition.day::timestamp at time zone 'UTC';
  v_to timestamptz := (_create_partition.day + 1)::timestamp at time zone 'UTC';
  v_key text;
  v_moved bigint;
  v_lock_timeout text;
begin
  if not exists (select from hookline.partition_policies p where p.table_name = _create_partition.parent) then
    raise exception using
      errcode = 'HL010',
      message = format('table %s is not a day-partitioned hookline table', _create_partition.parent),
      hint = 'The tables are listed in hookline.partition_policies.';
  end if;

  -- One creator per parent at a time; a concurrent caller waits, then finds the partition made.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.partition:' || _create_partition.parent));
  if pg_catalog.to_regclass(format('hookline.%I', v_name)) is not null then
    return null;
  end if;

  select a.attname into strict v_key
  from pg_catalog.pg_partitioned_table pt
  join pg_catalog.pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = format('hookline.%I', _create_partition.parent)::regclass;

  -- Creating a partition locks its parent (and the default partition) exclusively until the
  -- job's transaction ends, and the job creates several. Waiting for those locks while
  -- holding others could deadlock with ingest or claim, which lock the same tables in
  -- another order: so wait briefly (well under deadlock_timeout), and when a table is busy
  -- postpone its partition to the next run, which comes long before the day does.
  v_lock_timeout := pg_catalog.current_setting('lock_timeout');
  begin
    perform pg_catalog.set_config('lock_timeout', '50ms', true);
    -- Rows of this day that landed in the default partition would make CREATE ... PARTITION OF
    -- fail; set them aside, create the partition, and route them back through the parent.
    execute format(
      'create temp table hookline_moving (like hookline.%I) on commit drop', _create_partition.parent
    );
    execute format(
      'with moved as (delete from hookline.%I where %I >= $1 and %I < $2 returning *) '
      'insert into pg_temp.hookline_moving select * from moved',
      _create_partition.parent || '_default', v_key, v_key
    ) using v_from, v_to;
    get diagnostics v_moved = row_count;

    execute format(
      'create table hookline.%I partition of hookline.%I for values from (%L) to (%L)',
      v_name, _create_partition.parent, v_from, v_to
    );
    execute format(
      'comment on table hookline.%I is %L',
      v_name, format('Day partition of hookline.%s for %s (UTC).', _create_partition.parent, _create_partition.day)
    );
    if v_moved > 0 then
      execute format(
        'insert into hookline.%I select * from pg_temp.hookline_moving', _create_partition.parent
      );
      raise notice 'hookline: moved % rows of % from %_default into %',
        v_moved, _create_partition.day, _create_partition.parent, v_name;
    end if;
    drop table pg_temp.hookline_moving;
    perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  exception when lock_not_available then
    raise notice 'hookline: % is busy; partition % postponed to the next run',
      _create_partition.parent, v_name;
    return null;
  end;
  return v_name;
end
$$;

comment on function hookline._create_partition(text, date) is
  'Private. Creates the day partition <parent>_pYYYYMMDD (UTC day) if missing, moving that day''s rows out of <parent>_default. Returns the name created, or null if it existed or its table was busy (locks are waited for 50 ms at most, so maintenance never deadlocks with ingest or claim; the next run creates it). Errors: HL010 parent is not in hookline.partition_policies.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._create_partition(text,date) from public;
