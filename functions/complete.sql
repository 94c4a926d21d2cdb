create or replace function hookline.complete(results jsonb, now timestamptz default pg_catalog.now())
returns table (delivery_id bigint, outcome text, next_attempt_at timestamptz)
language plpgsql
security definer
set search_path = ''
-- Generic plans from the first call: every statement here reads by primary key or from the
-- given arrays, whatever their length. Left to choose, the plan cache replanned the statements
-- of small batches on every call (their custom plans looked cheaper), at 0.1-0.35 ms each.
set plan_cache_mode = force_generic_plan
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
  v_n integer;
  v_bad boolean;
  v_bad_id bigint;
  v_gone bigint[];
  v_targets text[];
  v_successes boolean[];
  v_live integer;
  v_f_ids bigint[];
  v_f_endpoints bigint[];
  v_f_generations integer[];
  v_f_tenants text[];
begin
  if complete.results is null or pg_catalog.jsonb_typeof(complete.results) <> 'array' or complete.now is null then
    raise exception using errcode = 'HL026', message = 'complete needs a JSON array of results';
  end if;

  -- Set-based, as River's JobSetStateIfRunningMany: the results become arrays, result i at
  -- position i of each (one aggregate step over one function scan, in the order given; no
  -- sort), and each step below is one statement over all of them; no per-result loop.
  select pg_catalog.array_agg(r.delivery_id), pg_catalog.array_agg(r.lease_token), pg_catalog.array_agg(r.status_code),
    pg_catalog.array_agg(r.error_class), pg_catalog.array_agg(r.duration_ms), pg_catalog.array_agg(r.retry_after_s),
    pg_catalog.array_agg(r.response_excerpt), pg_catalog.array_agg(r.runner), pg_catalog.count(*)
  into v_ids, v_tokens, v_statuses, v_errors, v_durations, v_retry_afters, v_excerpts, v_runners, v_n
  from pg_catalog.jsonb_to_recordset(complete.results) as r(
    delivery_id bigint, lease_token uuid, status_code integer, error_class text,
    duration_ms integer, retry_after_s double precision, response_excerpt text, runner text
  );
  if v_n = 0 then
    return;
  end if;

  -- Lock order, the same in every function that touches these tables (docs/delivery.md):
  -- endpoints and senders by id, then circuit breakers by target, then deliveries and outbox
  -- messages by id. Everything the batch needs is locked here, before any change.
  --
  -- What the batch needs, read without locks (in the statement that checks the results): the
  -- endpoints a 410 pauses, and each current result as a breaker signal (no answer and 5xx
  -- fail; other answers but 408/409/425/429, the endpoint is up, busy or not, succeed), in
  -- delivery id order. A result whose lease is gone by the time its delivery is locked below is
  -- still a real answer of the endpoint, so it still counts.
  select pg_catalog.bool_or(r.delivery_id is null or r.lease_token is null
      or (r.status_code is null and r.error_class is null) or r.status_code not between 100 and 999),
    pg_catalog.min(r.delivery_id) filter (where r.delivery_id is null or r.lease_token is null
      or (r.status_code is null and r.error_class is null) or r.status_code not between 100 and 999),
    pg_catalog.array_agg(distinct d.endpoint_id) filter (where d.delivery_id is not null and r.status_code = 410),
    pg_catalog.array_agg('endpoint:' || d.endpoint_id order by r.delivery_id, r.ord)
      filter (where d.delivery_id is not null and (r.status_code is null or r.status_code not in (408, 409, 425, 429))),
    pg_catalog.array_agg(coalesce(r.status_code < 500, false) order by r.delivery_id, r.ord)
      filter (where d.delivery_id is not null and (r.status_code is null or r.status_code not in (408, 409, 425, 429)))
  into v_bad, v_bad_id, v_gone, v_targets, v_successes
  from unnest(v_ids, v_tokens, v_statuses, v_errors) with ordinality as r(delivery_id, lease_token, status_code, error_class, ord)
  -- A lease token is set only while in flight (deliveries_lease_iff_in_flight); the state is not
  -- named here, so the planner reads each delivery by its primary key and never walks the
  -- in-flight index (whose entries of finished leases stay until vacuum).
  left join hookline.deliveries d
    on d.delivery_id = r.delivery_id and d.lease_token = r.lease_token;
  if v_bad then
    raise exception using
      errcode = 'HL026',
      message = 'each result needs delivery_id, lease_token, and a status_code (100-999) or an error_class',
      detail = format('result for delivery %s', v_bad_id);
  end if;

  -- 1. Endpoints (by id): those a 410 pauses.
  if v_gone is not null then
    perform from hookline.endpoints e
    where e.endpoint_id = any(v_gone)
    order by e.endpoint_id
    for no key update of e;
  end if;

  -- 2. Circuit breakers (by target), counted for the whole batch; a breaker-free endpoint's
  --    2xx costs one index probe per endpoint and locks nothing.
  if v_targets is not null then
    perform hookline._breaker_results(v_targets, v_successes, complete.now);
  end if;

  -- 3. Deliveries (by id). Counted: when every result's delivery is live (the usual batch),
  --    the lookup of finished ones below is skipped.
  select pg_catalog.count(*) into v_live
  from (
    select from hookline.deliveries d
    where d.delivery_id = any(v_ids)
    order by d.delivery_id
    for update of d
  ) l;

  -- A finished delivery (no live row): where it was, from its dead letter or its last attempt,
  -- for the attempt that records the late result. Not part of the statement below, so a batch
  -- of live deliveries never opens the attempts' partitions for it.
  if v_live < v_n then
    select pg_catalog.array_agg(u.id), pg_catalog.array_agg(y.endpoint_id), pg_catalog.array_agg(y.generation),
      pg_catalog.array_agg(y.tenant_id)
    into v_f_ids, v_f_endpoints, v_f_generations, v_f_tenants
    from (select distinct v.id from unnest(v_ids) as v(id)) u
    cross join lateral (
      select w.endpoint_id, w.generation, w.tenant_id
      from (
        select l.endpoint_id, l.generation, l.tenant_id, 1 as pref from hookline.dead_letters l where l.delivery_id = u.id
        union all
        (select a.endpoint_id, a.generation, a.tenant_id, 2 from hookline.attempts a
         where a.delivery_id = u.id order by a.attempted_at desc limit 1)
      ) w
      order by w.pref
      limit 1
    ) y
    where not exists (select from hookline.deliveries d where d.delivery_id = u.id);
  end if;

  -- 4. One statement decides and applies every outcome. Guarded compare-and-set: only the
  --    holder of the current lease (the first result for a delivery) moves the state; a late
  --    result (lease expired and claimed again, finished, or discarded) is kept as a stale
  --    attempt and changes nothing.
  return query
  with r as (
    select u.*, u.ord = pg_catalog.min(u.ord) over (partition by u.delivery_id) as is_first
    from unnest(v_ids, v_tokens, v_statuses, v_errors, v_durations, v_retry_afters, v_excerpts, v_runners)
      with ordinality as u(delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s, response_excerpt, runner, ord)
  ),
  x as materialized (
    select r.*, coalesce(d.endpoint_id, f.endpoint_id) as endpoint_id, d.event_id, d.event_received_at, d.created_at,
      coalesce(d.generation, f.generation) as generation, coalesce(d.tenant_id, f.tenant_id) as tenant_id,
      d.runner as lease_runner, d.next_attempt_at as due_at, d.attempt_count + 1 as attempt,
      d.delivery_id is not null as is_live, d.delivery_id is not null or f.endpoint_id is not null as is_known,
      coalesce(r.is_first and d.state = 'in_flight' and d.lease_token = r.lease_token, false) as is_current,
      e.retry_schedule,
      -- error class refused: the runner would not connect to the address (SSRF guard); permanent.
      case when r.status_code is null then r.error_class <> 'refused' else
        r.status_code in (408, 409, 425, 429)
        or r.status_code >= 500
        or (e.is_retrying_client_errors and r.status_code between 400 and 499 and r.status_code <> 410) end as is_retryable
    from r
    left join hookline.deliveries d on d.delivery_id = r.delivery_id
    left join hookline.endpoints e on e.endpoint_id = d.endpoint_id
    left join unnest(v_f_ids, v_f_endpoints, v_f_generations, v_f_tenants) as f(delivery_id, endpoint_id, generation, tenant_id)
      on f.delivery_id = r.delivery_id
  ),
  decided as materialized (
    select x.*,
      case when not x.is_current then case when x.is_known then 'stale' else 'unknown' end
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
  ),
  recorded as (
    insert into hookline.attempts (
      attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code, duration_ms,
      outcome, tenant_id, runner, error_class, response_excerpt
    )
    select complete.now, x.delivery_id, x.endpoint_id, x.generation,
      case when x.is_current then x.attempt end, x.status_code, x.duration_ms,
      case when x.is_current then x.verdict else 'stale' end, x.tenant_id,
      case when x.is_current then x.lease_runner else x.runner end, x.error_class, pg_catalog.left(x.response_excerpt, 1000)
    from decided x
    where x.is_known
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
    where e.endpoint_id = g.endpoint_id and e.state = 'active'
  )
  select x.delivery_id, x.verdict, case when x.is_current then x.next_at else x.due_at end
  from decided x
  order by x.delivery_id, x.ord;
end
$$;

comment on function hookline.complete(jsonb, timestamptz) is
  'Records a batch of attempt outcomes [{delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s, response_excerpt, runner}] and decides each delivery''s next state: 2xx succeeded (row leaves the queue); 408, 409, 425, 429, 5xx (and nonstandard 6xx-9xx) and no answer (error_class) retry after the endpoint''s retry_schedule[attempt] plus up to 20 % jitter, or after Retry-After clamped to [1 s, 24 h]; other statuses are permanent (dead) unless the endpoint retries client errors; 410 is dead and pauses the endpoint; a failure after the last scheduled retry is dead. No answer and 5xx feed the endpoint''s circuit breaker as failures, other answers but 408/409/425/429 as successes. A result whose lease is no longer current is recorded as a stale attempt and changes nothing. Returns (delivery_id, outcome, next_attempt_at) per result; outcome is succeeded, retrying, dead, stale or unknown. Errors: HL026 malformed result.';

-- SECURITY DEFINER: runners have no table privileges; they record outcomes only through this function.
revoke all on function hookline.complete(jsonb,timestamp with time zone) from public;
grant execute on function hookline.complete(jsonb,timestamp with time zone) to hookline_runner;
