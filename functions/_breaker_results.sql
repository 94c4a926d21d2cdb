create or replace function hookline._breaker_results(targets text[], successes boolean[], now timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_targets text[];
  v_b hookline.circuit_breakers;
begin
  -- targets[i] had result i, a success or a failure, in the order given. Set-based: one count
  -- update for the whole batch; a loop only over the breakers that change state (rare).
  -- Its callers (complete, complete_messages) run with plan_cache_mode = force_generic_plan,
  -- and so does this: left to choose, the plan cache re-planned the breaker read below on every
  -- call (its custom plans know the arrays' lengths). Not set here: a SET clause costs every
  -- call (docs/performance.md, "Plans that stay good").
  --
  -- Which breakers have work (an unlocked read): a target with a failure (its breaker is created
  -- on its first failure), or a success that changes something: a half-open breaker, or a
  -- closed one with failures in its current window or in a row. A closed breaker with a clean
  -- window ignores successes (its window starts at the next failure), so an endpoint that once
  -- failed pays nothing and locks nothing for its 2xx. Open and forced breakers ignore results.
  -- Each breaker by a probe of its key (the LIMIT keeps the lateral a probe: flattened into a
  -- join, a plan made on a drained or empty table read every breaker of the platform, 10,006
  -- rows a call at 10,000 numbers, docs/performance.md rule 2).
  select array_agg(t.target order by t.target) into v_targets
  from (
    select u.target, bool_and(u.is_success) as only_successes
    from unnest(_breaker_results.targets, _breaker_results.successes) as u(target, is_success)
    group by u.target
  ) t
  left join lateral (
    select x.* from hookline.circuit_breakers x where x.target = t.target limit 1
  ) b on true
  where case when b.target is null then not t.only_successes
             else not b.is_forced and b.state <> 'open' and (
               not t.only_successes or b.state = 'half_open' or b.consecutive_failures > 0
               or (b.window_failures > 0 and b.window_started_at + b.window_length > _breaker_results.now)) end;
  if v_targets is null then
    return;
  end if;

  -- Lock order (docs/delivery.md): endpoints and senders by id, then circuit breakers by
  -- target, then deliveries and outbox messages by id. Breakers here, in target order: missing
  -- ones are created and existing ones locked in one pass (DO UPDATE ... WHERE false locks the
  -- row and changes nothing).
  insert into hookline.circuit_breakers as b (target, window_started_at, changed_at)
  select t.target, _breaker_results.now, _breaker_results.now
  from pg_catalog.unnest(v_targets) as t(target)
  order by t.target
  on conflict (target) do update set changed_at = b.changed_at where false;

  -- Count the batch: requests, failures, and the failures after the last success (the run a
  -- failure streak continues with). A closed breaker whose window ran out or has no failure
  -- starts a new window with this batch. The breakers by key beside the join (`= any`), as
  -- above: without it a merge join read the whole primary key in its order.
  with u as (
    select u.target, u.is_success, u.ord,
      pg_catalog.max(u.ord) filter (where u.is_success) over (partition by u.target) as last_success
    from unnest(_breaker_results.targets, _breaker_results.successes) with ordinality as u(target, is_success, ord)
    where u.target = any(v_targets)
  ),
  a as (
    select u.target, pg_catalog.count(*)::integer as n,
      (pg_catalog.count(*) filter (where not u.is_success))::integer as f,
      (pg_catalog.count(*) filter (where not u.is_success and u.ord > coalesce(u.last_success, 0)))::integer as trailing,
      pg_catalog.bool_or(u.is_success) as any_success
    from u
    group by u.target
  )
  update hookline.circuit_breakers b
  set window_started_at = case when b.state = 'closed' and (b.window_failures = 0 or b.window_started_at + b.window_length <= _breaker_results.now)
                               then _breaker_results.now else b.window_started_at end,
    window_requests = case when b.state = 'closed' and (b.window_failures = 0 or b.window_started_at + b.window_length <= _breaker_results.now)
                           then 0 else b.window_requests end + a.n,
    window_failures = case when b.state = 'closed' and (b.window_failures = 0 or b.window_started_at + b.window_length <= _breaker_results.now)
                           then 0 else b.window_failures end + a.f,
    consecutive_failures = case when a.any_success then a.trailing else b.consecutive_failures + a.n end,
    half_open_successes = b.half_open_successes + case when b.state = 'half_open' then a.n - a.f else 0 end
  from a
  where b.target = a.target and b.target = any (v_targets) and not b.is_forced and b.state <> 'open';

  -- Decide. Closed opens after max_consecutive_failures in a row, or when failures reach
  -- failure_rate of at least min_requests results in its window. Half-open decides on each
  -- sample of `probes` results: closed when fewer than failure_rate / 2 of them failed, open
  -- again (cool-down doubled) when fewer than (1 - failure_rate) / 5 succeeded, else it keeps
  -- probing with a new sample: an endpoint that still succeeds often is throttled, not starved.
  for v_b in
    select b.*
    from hookline.circuit_breakers b
    where b.target = any(v_targets) and not b.is_forced and (
      (b.state = 'closed' and (b.consecutive_failures >= b.max_consecutive_failures
        or (b.window_requests >= b.min_requests and b.window_failures >= b.failure_rate * b.window_requests)))
      or (b.state = 'half_open' and b.window_requests >= b.probes))
    order by b.target
  loop
    if v_b.state = 'closed' then
      perform hookline._breaker_transition(v_b.target, 'open',
        case when v_b.consecutive_failures >= v_b.max_consecutive_failures
             then format('%s failures in a row', v_b.consecutive_failures)
             else format('%s of %s requests failed within %s', v_b.window_failures, v_b.window_requests, v_b.window_length) end,
        'hookline', _breaker_results.now);
    elsif v_b.window_failures < v_b.failure_rate / 2 * v_b.window_requests then
      perform hookline._breaker_transition(v_b.target, 'closed',
        format('%s of %s probes succeeded', v_b.half_open_successes, v_b.window_requests), 'hookline', _breaker_results.now);
    elsif v_b.half_open_successes < (1 - v_b.failure_rate) / 5 * v_b.window_requests then
      update hookline.circuit_breakers b set cooldown = least(b.cooldown * 2, b.max_cooldown) where b.target = v_b.target;
      perform hookline._breaker_transition(v_b.target, 'open',
        format('%s of %s probes succeeded', v_b.half_open_successes, v_b.window_requests), 'hookline', _breaker_results.now);
    else
      update hookline.circuit_breakers b
      set window_started_at = _breaker_results.now, window_requests = 0, window_failures = 0, half_open_successes = 0
      where b.target = v_b.target;
    end if;
  end loop;
end
$$;

comment on function hookline._breaker_results(text[], boolean[], timestamptz) is
  'Private, for completes. Feeds a batch of results (targets[i] succeeded when successes[i]) to the targets'' breakers, locking them in target order: a failure creates the breaker; closed opens after max_consecutive_failures in a row or when failures reach failure_rate of at least min_requests results in its window (which starts at its first failure); half-open decides on each sample of probes results: closed when fewer than failure_rate / 2 failed, open again with its cool-down doubled (up to max_cooldown) when fewer than (1 - failure_rate) / 5 succeeded, else another sample. Open and forced breakers ignore results. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_results(text[],boolean[],timestamp with time zone) from public;
