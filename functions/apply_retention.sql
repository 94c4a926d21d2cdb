create or replace function hookline.apply_retention(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  -- Bounds on one run's work; the job runs hourly, so a backlog drains over a few runs.
  c_max_drops constant integer := 10;
  c_max_keys constant integer := 50000;
  v_policy record;
  v_part record;
  v_cutoff timestamptz;
  v_dropped integer := 0;
  v_keys bigint := 0;
  v_runs bigint;
begin
  for v_policy in select p.table_name, p.retention from hookline.partition_policies p order by 1 loop
    -- A day partition goes when its whole day is older than the retention.
    v_cutoff := pg_catalog.date_trunc('day', (apply_retention.now - v_policy.retention) at time zone 'UTC') at time zone 'UTC';
    for v_part in
      select to_date(substring(c.relname from '_p(\d{8})$'), 'YYYYMMDD') as day
      from pg_catalog.pg_inherits i
      join pg_catalog.pg_class c on c.oid = i.inhrelid
      where i.inhparent = format('hookline.%I', v_policy.table_name)::regclass
        and c.relname ~ '_p\d{8}$'
      order by 1
    loop
      exit when v_dropped >= c_max_drops
        or (v_part.day + 1)::timestamp at time zone 'UTC' > v_cutoff;
      if hookline._drop_partition(v_policy.table_name, v_part.day) is not null then
        v_dropped := v_dropped + 1;
      end if;
    end loop;

    if v_policy.table_name = 'events' then
      -- Dedup keys live exactly as long as the events they guard.
      delete from hookline.event_keys k
      where k.ctid = any (array(
        select k2.ctid from hookline.event_keys k2 where k2.received_at < v_cutoff limit c_max_keys
      ));
      get diagnostics v_keys = row_count;
    end if;
  end loop;

  delete from hookline.job_runs r where r.finished_at < apply_retention.now - interval '14 days';
  get diagnostics v_runs = row_count;

  return format('dropped %s partitions, %s dedup keys, %s job runs', v_dropped, v_keys, v_runs);
end
$$;

comment on function hookline.apply_retention(timestamptz) is
  'Job. Drops day partitions whose day ended more than their table''s retention ago (at most 10 a run), deletes the dedup keys of dropped events (at most 50,000 a run) and job runs older than 14 days. Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.apply_retention(timestamp with time zone) from public;
