create or replace function hookline._breaker_record(target text, is_success boolean, now timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
begin
  if not _breaker_record.is_success then
    insert into hookline.circuit_breakers (target, window_started_at, changed_at)
    values (_breaker_record.target, _breaker_record.now, _breaker_record.now)
    on conflict do nothing;
  end if;
  select b.* into v_b from hookline.circuit_breakers b where b.target = _breaker_record.target for update;
  if not found then
    return 'closed';  -- a success of a target that never failed: nothing to count
  end if;
  if v_b.is_forced or v_b.state = 'open' then
    return v_b.state;  -- an operator decides, or a late result of a request sent before opening
  end if;

  if v_b.state = 'half_open' then
    if not _breaker_record.is_success then
      update hookline.circuit_breakers b set cooldown = least(b.cooldown * 2, b.max_cooldown)
      where b.target = _breaker_record.target;
      perform hookline._breaker_transition(_breaker_record.target, 'open', 'a probe failed', 'hookline', _breaker_record.now);
      return 'open';
    end if;
    update hookline.circuit_breakers b set half_open_successes = b.half_open_successes + 1
    where b.target = _breaker_record.target
    returning b.* into v_b;
    if v_b.half_open_successes >= v_b.probes then
      perform hookline._breaker_transition(_breaker_record.target, 'closed',
        format('%s probes succeeded', v_b.half_open_successes), 'hookline', _breaker_record.now);
      return 'closed';
    end if;
    return 'half_open';
  end if;

  -- Closed: count in the current window (a new one when it has run out).
  update hookline.circuit_breakers b
  set window_started_at = case when b.window_started_at + b.window_length <= _breaker_record.now
                               then _breaker_record.now else b.window_started_at end,
    window_requests = case when b.window_started_at + b.window_length <= _breaker_record.now
                           then 0 else b.window_requests end + 1,
    window_failures = case when b.window_started_at + b.window_length <= _breaker_record.now
                           then 0 else b.window_failures end + (not _breaker_record.is_success)::integer,
    consecutive_failures = case when _breaker_record.is_success then 0 else b.consecutive_failures + 1 end
  where b.target = _breaker_record.target
  returning b.* into v_b;
  if v_b.consecutive_failures >= v_b.max_consecutive_failures then
    perform hookline._breaker_transition(_breaker_record.target, 'open',
      format('%s failures in a row', v_b.consecutive_failures), 'hookline', _breaker_record.now);
    return 'open';
  end if;
  if v_b.window_requests >= v_b.min_requests and v_b.window_failures >= v_b.failure_rate * v_b.window_requests then
    perform hookline._breaker_transition(_breaker_record.target, 'open',
      format('%s of %s requests failed within %s', v_b.window_failures, v_b.window_requests, v_b.window_length),
      'hookline', _breaker_record.now);
    return 'open';
  end if;
  return 'closed';
end
$$;

comment on function hookline._breaker_record(text, boolean, timestamptz) is
  'Private, for completes. Feeds one result to a target''s breaker (created by its first failure) and returns its state: closed opens after max_consecutive_failures in a row or when failures reach failure_rate of at least min_requests in a window; half-open closes after probes successes and reopens on a failure with its cool-down doubled (up to max_cooldown). Open and forced breakers ignore results. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_record(text,boolean,timestamp with time zone) from public;
