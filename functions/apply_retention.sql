create or replace function hookline.apply_retention(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  -- Bounds on one run's work; the job runs hourly, so a backlog drains over a few runs.
  c_max_drops constant integer := 10;
  c_budget constant interval := interval '20 seconds';  -- for each kind of row it prunes
  v_policy record;
  v_part record;
  v_cutoff timestamptz;
  v_dropped integer := 0;
  v_held integer := 0;
  v_keys bigint := 0;
  v_runs bigint;
  v_messages bigint;
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
      -- An event that a live or dead delivery still needs is never dropped: its day waits
      -- until the delivery succeeds, or the dead letter is replayed and done, or discarded.
      if v_policy.table_name = 'events' and (
        exists (
          select from hookline.deliveries d
          where d.event_received_at >= v_part.day::timestamp at time zone 'UTC'
            and d.event_received_at < (v_part.day + 1)::timestamp at time zone 'UTC'
        )
        or exists (
          select from hookline.dead_letters x
          where x.state = 'dead'
            and x.event_received_at >= v_part.day::timestamp at time zone 'UTC'
            and x.event_received_at < (v_part.day + 1)::timestamp at time zone 'UTC'
        )
      ) then
        v_held := v_held + 1;
        continue;
      end if;
      if hookline._drop_partition(v_policy.table_name, v_part.day) is not null then
        v_dropped := v_dropped + 1;
      else
        exit;  -- the table is busy: its old days wait for the next run, no more waiting now
      end if;
    end loop;

    if v_policy.table_name = 'events' then
      -- Dedup keys live exactly as long as the events they guard (a held day keeps its keys).
      v_keys := hookline._prune($q$
        delete from hookline.event_keys k
        where k.ctid = any (array(
          select k2.ctid from hookline.event_keys k2
          where k2.received_at < $2
            and not exists (
              select from hookline.events e where e.event_id = k2.event_id and e.received_at = k2.received_at
            )
          limit $1
        ))$q$, v_cutoff, c_budget);
    end if;
  end loop;

  delete from hookline.job_runs r where r.finished_at < apply_retention.now - interval '14 days';
  get diagnostics v_runs = row_count;

  -- Outbox rows stay after sending so that status webhooks find them; a finished message
  -- (read, failed, dead, or sent/delivered with no news) goes after 30 days, and with it its
  -- idempotency key. Breaker transitions are kept as long.
  v_messages := hookline._prune($q$
    delete from hookline.outbox o
    where o.ctid = any (array(
      select o2.ctid from hookline.outbox o2
      where o2.next_attempt_at is null  -- sent, delivered, read, failed or dead (outbox_finished_idx)
        and coalesce(o2.finished_at, o2.read_at, o2.delivered_at, o2.sent_at, o2.created_at) < $2
      limit $1
    ))$q$, apply_retention.now - interval '30 days', c_budget);
  perform hookline._prune($q$
    delete from hookline.breaker_transitions t
    where t.ctid = any (array(
      select t2.ctid from hookline.breaker_transitions t2 where t2.happened_at < $2 limit $1
    ))$q$, apply_retention.now - interval '30 days', c_budget);

  return format(
    'dropped %s partitions, %s dedup keys, %s job runs, %s outbox messages; %s days held by deliveries',
    v_dropped, v_keys, v_runs, v_messages, v_held
  );
end
$$;

comment on function hookline.apply_retention(timestamptz) is
  'Job. Drops day partitions whose day ended more than their table''s retention ago (at most 10 a run), except days of events that a live delivery or a dead letter still needs, deletes the dedup keys of dropped events, job runs older than 14 days, and outbox messages finished and breaker transitions made more than 30 days ago (each in batches of 10,000 by index, for at most 20 s a kind per run). Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.apply_retention(timestamp with time zone) from public;
