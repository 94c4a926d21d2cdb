create or replace function hookline.complete(results jsonb, now timestamptz default pg_catalog.now())
returns table (delivery_id bigint, outcome text, next_attempt_at timestamptz)
language plpgsql
security definer
set search_path = ''
-- Generic plans from the first call: every statement here reads by primary key or from the
-- given arrays, whatever their length. Left to choose, the plan cache replanned the statements
-- of small batches on every call (their custom plans looked cheaper), at 0.1-0.35 ms each.
-- A generic plan is made once per session, with the statistics of that moment: made while the
-- queue was small (a runner's first completes, most of a healthy queue's life), it read
-- deliveries sequentially and went on doing so after an outage's backlog arrived, until an
-- analyze invalidated it (a minute or more). So no sequential or bitmap scan, as in claim, and
-- no JIT (the cost that enable_seqscan adds to the small tables' reads would cross
-- jit_above_cost).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_ids bigint[];
  v_tokens uuid[];
  v_statuses integer[];
  v_errors text[];
  v_durations integer[];
  v_retry_afters double precision[];
  v_excerpts text[];
  v_runners text[];
  v_ords bigint[];
  v_n integer;
  v_bad boolean;
  v_bad_id bigint;
  v_gone bigint[];
  v_signal_ids bigint[];
  v_signal_ords bigint[];
  v_signal_targets text[];
  v_signal_successes boolean[];
  v_breakers boolean;
  v_targets text[];
  v_successes boolean[];
  v_out_ids bigint[];
  v_out_outcomes text[];
  v_out_next timestamptz[];
  v_missing bigint[];
begin
  if complete.results is null or pg_catalog.jsonb_typeof(complete.results) <> 'array' or complete.now is null then
    raise exception using errcode = 'HL026', message = 'complete needs a JSON array of results';
  end if;

  -- Set-based, as River's JobSetStateIfRunningMany: a batch of 2xx is two statements, one that
  -- reads (unlocked) and one that locks and writes; the rest only when the batch needs it.
  --
  -- 1. Read, in one pass over the JSON and without sorting: the results become arrays (one per
  --    field, each in the same order, with the result's position in `ords`), checked; and what
  --    the lock order needs before the deliveries are locked: the endpoints a 410 pauses, and
  --    each current result as a breaker signal (no answer and 5xx fail; other answers but
  --    408/409/425/429, the endpoint is up, busy or not, succeed). A result whose lease is gone
  --    by the time its delivery is locked below is still a real answer of the endpoint, so it
  --    still counts. The breakers are fed only when a signal is a failure or one of the batch's
  --    endpoints has a breaker row: an endpoint that never failed costs one index probe here.
  select a.ids, a.tokens, a.statuses, a.errors, a.durations, a.retry_afters, a.excerpts, a.runners, a.ords, a.n,
    a.bad, a.bad_id, a.gone, a.signal_ids, a.signal_ords, a.signal_targets, a.signal_successes,
    a.signal_targets is not null and (not a.only_successes
      -- each target's breaker by key (as `= any (targets)`, a plan made while the breakers
      -- were drained read circuit_breakers_pkey whole, a row per number and endpoint)
      or exists (select from pg_catalog.unnest(a.signal_targets) as t(target)
                 cross join lateral (select from hookline.circuit_breakers b where b.target = t.target limit 1) b))
  into v_ids, v_tokens, v_statuses, v_errors, v_durations, v_retry_afters, v_excerpts, v_runners, v_ords, v_n,
    v_bad, v_bad_id, v_gone, v_signal_ids, v_signal_ords, v_signal_targets, v_signal_successes, v_breakers
  from (
    select pg_catalog.array_agg(r.delivery_id) as ids, pg_catalog.array_agg(r.lease_token) as tokens,
      pg_catalog.array_agg(r.status_code) as statuses, pg_catalog.array_agg(r.error_class) as errors,
      pg_catalog.array_agg(r.duration_ms) as durations, pg_catalog.array_agg(r.retry_after_s) as retry_afters,
      pg_catalog.array_agg(r.response_excerpt) as excerpts, pg_catalog.array_agg(r.runner) as runners,
      pg_catalog.array_agg(r.ord) as ords, pg_catalog.count(*)::integer as n,
      pg_catalog.bool_or(r.delivery_id is null or r.lease_token is null
        or (r.status_code is null and r.error_class is null) or r.status_code not between 100 and 999) as bad,
      pg_catalog.min(r.delivery_id) filter (where r.delivery_id is null or r.lease_token is null
        or (r.status_code is null and r.error_class is null) or r.status_code not between 100 and 999) as bad_id,
      pg_catalog.array_agg(distinct d.endpoint_id) filter (where d.endpoint_id is not null and r.status_code = 410) as gone,
      pg_catalog.array_agg(r.delivery_id) filter (where s.is_signal) as signal_ids,
      pg_catalog.array_agg(r.ord) filter (where s.is_signal) as signal_ords,
      pg_catalog.array_agg('endpoint:' || d.endpoint_id) filter (where s.is_signal) as signal_targets,
      pg_catalog.array_agg(coalesce(r.status_code < 500, false)) filter (where s.is_signal) as signal_successes,
      pg_catalog.bool_and(coalesce(r.status_code < 500, false)) filter (where s.is_signal) as only_successes
    from rows from (pg_catalog.jsonb_to_recordset(complete.results) as (
      delivery_id bigint, lease_token uuid, status_code integer, error_class text,
      duration_ms integer, retry_after_s double precision, response_excerpt text, runner text
    )) with ordinality as r(delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s,
      response_excerpt, runner, ord)
    -- Each delivery by its primary key alone, in a subquery of its own: one probe per result,
    -- its lease token compared after. With the token in the condition (a join or a subquery),
    -- the generic plan read the leased rows of the partial indexes on lease_token instead (a
    -- whole index, tiny when analysed), whose entries of finished leases stay until vacuum:
    -- while a transaction held the xmin horizon back, that read walked every lease finished
    -- since (535 buffers a result after 20,000 deliveries; by the key, 3).
    cross join lateral (
      select (select case when d.lease_token = r.lease_token then d.endpoint_id end
              from hookline.deliveries d where d.delivery_id = r.delivery_id) as endpoint_id
      offset 0 -- evaluated once per result, not once per use
    ) d
    cross join lateral (
      select d.endpoint_id is not null and (r.status_code is null or r.status_code not in (408, 409, 425, 429)) as is_signal
    ) s
  ) a;
  if v_n = 0 then
    return;
  end if;
  if v_bad then
    raise exception using
      errcode = 'HL026',
      message = 'each result needs delivery_id, lease_token, and a status_code (100-999) or an error_class',
      detail = format('result for delivery %s', v_bad_id);
  end if;

  -- Lock order, the same in every function that touches these tables (docs/delivery.md):
  -- endpoints and senders by id, then circuit breakers by target, then deliveries and outbox
  -- messages by id. Everything the batch needs is locked before any change.
  --
  -- 2. Endpoints (by id): those a 410 pauses.
  if v_gone is not null then
    perform from hookline.endpoints e
    where e.endpoint_id = any(v_gone)
    order by e.endpoint_id
    for no key update of e;
  end if;

  -- 3. Circuit breakers (by target), counted for the whole batch, the signals in delivery id
  --    order (a failure streak is counted in that order).
  if v_breakers then
    select pg_catalog.array_agg(s.target order by s.delivery_id, s.ord), pg_catalog.array_agg(s.is_success order by s.delivery_id, s.ord)
    into v_targets, v_successes
    from unnest(v_signal_ids, v_signal_ords, v_signal_targets, v_signal_successes) as s(delivery_id, ord, target, is_success);
    perform hookline._breaker_results(v_targets, v_successes, complete.now);
  end if;

  -- 4. One statement locks the batch's deliveries (by id; the first thing it does) and decides
  --    and applies every outcome. Guarded compare-and-set: only the holder of the current lease
  --    (the first result with that lease's token: a repeated result is stale) moves the state;
  --    a late result (lease expired and claimed again, or discarded) is kept as a stale attempt
  --    and changes nothing, wherever it stands in the batch (first by delivery alone, a late
  --    result listed before the current one made both stale). A result whose delivery has no
  --    live row (finished, or never there) is left to step 5.
  with r as (
    select u.*, u.ord = pg_catalog.min(u.ord) over (partition by u.delivery_id, u.lease_token) as is_first
    from unnest(v_ids, v_tokens, v_statuses, v_errors, v_durations, v_retry_afters, v_excerpts, v_runners, v_ords)
      as u(delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s, response_excerpt, runner, ord)
  ),
  locked as materialized (
    select d.delivery_id, d.endpoint_id, d.event_id, d.event_received_at, d.created_at, d.generation, d.tenant_id,
      d.runner, d.next_attempt_at, d.attempt_count, d.state, d.lease_token
    from hookline.deliveries d
    where d.delivery_id = any(v_ids)
    order by d.delivery_id
    for update of d
  ),
  x as (
    select r.*, d.endpoint_id, d.event_id, d.event_received_at, d.created_at, d.generation, d.tenant_id,
      d.runner as lease_runner, d.next_attempt_at as due_at, d.attempt_count + 1 as attempt,
      d.delivery_id is not null as is_live,
      coalesce(r.is_first and d.state = 'in_flight' and d.lease_token = r.lease_token, false) as is_current,
      e.retry_schedule,
      -- error class refused: the runner would not connect to the address (SSRF guard); permanent.
      case when r.status_code is null then r.error_class <> 'refused' else
        r.status_code in (408, 409, 425, 429)
        or r.status_code >= 500
        or (e.is_retrying_client_errors and r.status_code between 400 and 499 and r.status_code <> 410) end as is_retryable
    from r
    left join locked d on d.delivery_id = r.delivery_id
    -- Each delivery's endpoint by a probe of its key (the LIMIT keeps the lateral a probe: a
    -- join planned while the endpoints were drained read every endpoint for a merge join,
    -- 3,002 rows a call beside 3,000 paused ones).
    left join lateral (
      select e.retry_schedule, e.is_retrying_client_errors
      from hookline.endpoints e where e.endpoint_id = d.endpoint_id limit 1
    ) e on true
  ),
  decided as materialized (
    select x.*,
      case when not x.is_current then 'stale'
        when x.status_code between 200 and 299 then 'succeeded'
        when x.status_code = 410 or not x.is_retryable or x.attempt > pg_catalog.cardinality(x.retry_schedule) then 'dead'
        else 'retrying' end as verdict,
      case when not x.is_current or x.status_code between 200 and 299 then null
        when x.status_code = 410 then 'gone: the endpoint answered 410 and was paused'
        when not x.is_retryable then case when x.status_code is null
          then 'refused: ' || coalesce(x.response_excerpt, 'the address is not allowed')
          else format('permanent: the endpoint answered %s', x.status_code) end
        when x.attempt > pg_catalog.cardinality(x.retry_schedule)
          then format('retries exhausted after %s attempts; last: %s', x.attempt, coalesce(x.status_code::text, x.error_class))
      end as reason,
      -- Retry-After is honoured within [1 s, 24 h] and replaces the schedule's delay; the
      -- schedule's delay gets up to 20 % jitter (later, never earlier) so that a burst of
      -- failures does not come back as a burst.
      -- (2xx and 410 are never retryable.)
      case when x.is_current and x.is_retryable and x.attempt <= pg_catalog.cardinality(x.retry_schedule)
        then complete.now + case
          when x.retry_after_s is not null
            then pg_catalog.make_interval(secs => least(greatest(x.retry_after_s, 1), 86400))
          else x.retry_schedule[x.attempt] * (1 + pg_catalog.random() * 0.2)
        end
      end as next_at
    from x
    -- In this order every step below reads it: attempts, dead letters and the output come in
    -- delivery id order, a duplicate result after the first.
    order by x.delivery_id, x.ord
  ),
  recorded as (
    insert into hookline.attempts (
      attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code, duration_ms,
      outcome, tenant_id, runner, error_class, response_excerpt
    )
    select complete.now, x.delivery_id, x.endpoint_id, x.generation,
      case when x.is_current then x.attempt end, x.status_code, x.duration_ms,
      x.verdict, x.tenant_id,
      case when x.is_current then x.lease_runner else x.runner end, x.error_class, pg_catalog.left(x.response_excerpt, 1000)
    from decided x
    where x.is_live
  ),
  removed as (
    delete from hookline.deliveries d
    using decided x
    where d.delivery_id = x.delivery_id and x.is_current and x.verdict in ('succeeded', 'dead')
  ),
  buried as (
    insert into hookline.dead_letters (
      delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at, last_status_code,
      attempt_count, generation, state, tenant_id, reason, error_class
    )
    select x.delivery_id, x.endpoint_id, x.event_id, x.event_received_at, x.created_at, complete.now,
      x.status_code, x.attempt, x.generation, 'dead', x.tenant_id, x.reason,
      coalesce('http_' || x.status_code, x.error_class)
    from decided x
    where x.is_current and x.verdict = 'dead'
  ),
  retried as (
    update hookline.deliveries d
    set state = 'retrying', lease_token = null, runner = null, attempt_count = x.attempt, next_attempt_at = x.next_at
    from decided x
    where d.delivery_id = x.delivery_id and x.is_current and x.verdict = 'retrying'
  ),
  paused as (
    update hookline.endpoints e
    set state = 'paused', paused_reason = format('answered 410 Gone at %s (delivery %s)', complete.now, g.delivery_id),
      updated_at = complete.now
    from (
      select x.endpoint_id, pg_catalog.min(x.delivery_id) as delivery_id
      from decided x
      where x.is_current and x.status_code = 410
      group by x.endpoint_id
    ) g
    where e.endpoint_id = g.endpoint_id and e.endpoint_id = any (v_gone) and e.state = 'active'
  )
  select pg_catalog.array_agg(o.delivery_id) filter (where o.is_live),
    pg_catalog.array_agg(o.verdict) filter (where o.is_live),
    pg_catalog.array_agg(case when o.is_current then o.next_at else o.due_at end) filter (where o.is_live),
    pg_catalog.array_agg(o.ord) filter (where not o.is_live)
  into v_out_ids, v_out_outcomes, v_out_next, v_missing
  from decided o;

  return query select * from unnest(v_out_ids, v_out_outcomes, v_out_next);

  -- 5. Results without a live delivery (rare: a late result of a finished delivery, or an id
  --    never seen): where the delivery was, from its live row (replayed meanwhile), its dead
  --    letter or its last attempt, for the stale attempt that records the result. A statement
  --    of its own, so a batch of live deliveries never opens the attempts' partitions for it.
  if v_missing is not null then
    return query
    with m as (
      select u.*
      from unnest(v_ids, v_statuses, v_errors, v_durations, v_excerpts, v_runners, v_ords)
        as u(delivery_id, status_code, error_class, duration_ms, response_excerpt, runner, ord)
      where u.ord = any(v_missing)
    ),
    y as materialized (
      select m.*, w.endpoint_id, w.generation, w.tenant_id, w.due_at
      from m
      left join lateral (
        select v.endpoint_id, v.generation, v.tenant_id, v.due_at
        from (
          select d.endpoint_id, d.generation, d.tenant_id, d.next_attempt_at as due_at, 0 as pref
          from hookline.deliveries d where d.delivery_id = m.delivery_id
          union all
          select l.endpoint_id, l.generation, l.tenant_id, null, 1 from hookline.dead_letters l where l.delivery_id = m.delivery_id
          union all
          (select a.endpoint_id, a.generation, a.tenant_id, null, 2 from hookline.attempts a
           where a.delivery_id = m.delivery_id order by a.attempted_at desc limit 1)
        ) v
        order by v.pref
        limit 1
      ) w on true
    ),
    recorded as (
      insert into hookline.attempts (
        attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code, duration_ms,
        outcome, tenant_id, runner, error_class, response_excerpt
      )
      select complete.now, y.delivery_id, y.endpoint_id, y.generation, null, y.status_code, y.duration_ms,
        'stale', y.tenant_id, y.runner, y.error_class, pg_catalog.left(y.response_excerpt, 1000)
      from y
      where y.endpoint_id is not null
    )
    select y.delivery_id, case when y.endpoint_id is null then 'unknown' else 'stale' end, y.due_at
    from y
    order by y.delivery_id, y.ord;
  end if;
end
$$;

comment on function hookline.complete(jsonb, timestamptz) is
  'Records a batch of attempt outcomes [{delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s, response_excerpt, runner}] and decides each delivery''s next state: 2xx succeeded (row leaves the queue); 408, 409, 425, 429, 5xx (and nonstandard 6xx-9xx) and no answer (error_class) retry after the endpoint''s retry_schedule[attempt] plus up to 20 % jitter, or after Retry-After clamped to [1 s, 24 h]; other statuses are permanent (dead) unless the endpoint retries client errors; 410 is dead and pauses the endpoint; a failure after the last scheduled retry is dead. No answer and 5xx feed the endpoint''s circuit breaker as failures, other answers but 408/409/425/429 as successes. A result whose lease is no longer current is recorded as a stale attempt and changes nothing. Returns (delivery_id, outcome, next_attempt_at) per result; outcome is succeeded, retrying, dead, stale or unknown. Errors: HL026 malformed result.';

-- SECURITY DEFINER: runners have no table privileges; they record outcomes only through this function.
revoke all on function hookline.complete(jsonb,timestamp with time zone) from public;
grant execute on function hookline.complete(jsonb,timestamp with time zone) to hookline_runner;
