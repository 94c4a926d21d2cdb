create or replace function hookline.complete(results jsonb, now timestamptz default pg_catalog.now())
returns table (delivery_id bigint, outcome text, next_attempt_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_r record;
  v_d hookline.deliveries;
  v_e hookline.endpoints;
  v_attempt integer;
  v_outcome text;
  v_reason text;
  v_next timestamptz;
  v_retryable boolean;
begin
  if complete.results is null or pg_catalog.jsonb_typeof(complete.results) <> 'array' or complete.now is null then
    raise exception using errcode = 'HL026', message = 'complete needs a JSON array of results';
  end if;

  -- In delivery id order, so two concurrent completes lock rows in the same order.
  for v_r in
    select r.*
    from pg_catalog.jsonb_to_recordset(complete.results) as r(
      delivery_id bigint, lease_token uuid, status_code integer, error_class text,
      duration_ms integer, retry_after_s double precision, response_excerpt text, runner text
    )
    order by r.delivery_id
  loop
    if v_r.delivery_id is null or v_r.lease_token is null
       or (v_r.status_code is null and v_r.error_class is null)
       or v_r.status_code not between 100 and 999 then
      raise exception using
        errcode = 'HL026',
        message = 'each result needs delivery_id, lease_token, and a status_code (100-999) or an error_class',
        detail = format('result for delivery %s', v_r.delivery_id);
    end if;

    select d.* into v_d from hookline.deliveries d where d.delivery_id = v_r.delivery_id for update;

    -- Guarded compare-and-set: only the holder of the current lease moves the state. A late
    -- result (lease expired and the delivery claimed again, finished, or discarded) is kept as
    -- a stale attempt and changes nothing.
    if not found or v_d.state <> 'in_flight' or v_d.lease_token <> v_r.lease_token then
      insert into hookline.attempts (
        attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code, duration_ms,
        outcome, tenant_id, runner, error_class, response_excerpt
      )
      select complete.now, v_r.delivery_id, x.endpoint_id, x.generation, null, v_r.status_code, v_r.duration_ms,
        'stale', x.tenant_id, v_r.runner, v_r.error_class, pg_catalog.left(v_r.response_excerpt, 1000)
      from (
        select d.endpoint_id, d.generation, d.tenant_id, 1 as pref from hookline.deliveries d where d.delivery_id = v_r.delivery_id
        union all
        select l.endpoint_id, l.generation, l.tenant_id, 2 from hookline.dead_letters l where l.delivery_id = v_r.delivery_id
        union all
        (select a.endpoint_id, a.generation, a.tenant_id, 3 from hookline.attempts a
         where a.delivery_id = v_r.delivery_id order by a.attempted_at desc limit 1)
        order by pref
        limit 1
      ) x;
      return query select v_r.delivery_id, case when found then 'stale' else 'unknown' end, v_d.next_attempt_at;
      continue;
    end if;

    select e.* into strict v_e from hookline.endpoints e where e.endpoint_id = v_d.endpoint_id;
    v_attempt := v_d.attempt_count + 1;
    v_next := null;
    v_reason := null;
    -- error class refused: the runner would not connect to the address (SSRF guard); permanent.
    v_retryable := case when v_r.status_code is null then v_r.error_class <> 'refused' else
      v_r.status_code in (408, 409, 425, 429)
      or v_r.status_code >= 500
      or (v_e.is_retrying_client_errors and v_r.status_code between 400 and 499 and v_r.status_code <> 410) end;

    if v_r.status_code between 200 and 299 then
      v_outcome := 'succeeded';
    elsif v_r.status_code = 410 then
      v_outcome := 'dead';
      v_reason := 'gone: the endpoint answered 410 and was paused';
      update hookline.endpoints e
      set state = 'paused', paused_reason = format('answered 410 Gone at %s (delivery %s)', complete.now, v_d.delivery_id),
        updated_at = complete.now
      where e.endpoint_id = v_e.endpoint_id and e.state = 'active';
    elsif not v_retryable then
      v_outcome := 'dead';
      v_reason := case when v_r.status_code is null
        then 'refused: ' || coalesce(v_r.response_excerpt, 'the address is not allowed')
        else format('permanent: the endpoint answered %s', v_r.status_code) end;
    elsif v_attempt > pg_catalog.cardinality(v_e.retry_schedule) then
      v_outcome := 'dead';
      v_reason := format('retries exhausted after %s attempts; last: %s', v_attempt, coalesce(v_r.status_code::text, v_r.error_class));
    else
      v_outcome := 'retrying';
      -- Retry-After is honoured within [1 s, 24 h] and replaces the schedule's delay; the
      -- schedule's delay gets up to 20 % jitter (later, never earlier) so that a burst of
      -- failures does not come back as a burst.
      v_next := complete.now + case
        when v_r.retry_after_s is not null
          then pg_catalog.make_interval(secs => least(greatest(v_r.retry_after_s, 1), 86400))
        else v_e.retry_schedule[v_attempt] * (1 + pg_catalog.random() * 0.2)
      end;
    end if;

    -- The endpoint's circuit breaker: no answer and 5xx count as failures, any other answer
    -- but 408/409/425/429 (the endpoint is up, busy or not) as a success.
    if v_r.status_code is null or v_r.status_code >= 500 then
      perform hookline._breaker_record('endpoint:' || v_d.endpoint_id, false, complete.now);
    elsif v_r.status_code not in (408, 409, 425, 429) then
      perform hookline._breaker_record('endpoint:' || v_d.endpoint_id, true, complete.now);
    end if;

    insert into hookline.attempts (
      attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code, duration_ms,
      outcome, tenant_id, runner, error_class, response_excerpt
    )
    values (
      complete.now, v_d.delivery_id, v_d.endpoint_id, v_d.generation, v_attempt, v_r.status_code, v_r.duration_ms,
      v_outcome, v_d.tenant_id, v_d.runner, v_r.error_class, pg_catalog.left(v_r.response_excerpt, 1000)
    );

    if v_outcome = 'succeeded' then
      delete from hookline.deliveries d where d.delivery_id = v_d.delivery_id;
    elsif v_outcome = 'dead' then
      delete from hookline.deliveries d where d.delivery_id = v_d.delivery_id;
      insert into hookline.dead_letters (
        delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at, last_status_code,
        attempt_count, generation, state, tenant_id, reason, error_class
      )
      values (
        v_d.delivery_id, v_d.endpoint_id, v_d.event_id, v_d.event_received_at, v_d.created_at, complete.now,
        v_r.status_code, v_attempt, v_d.generation, 'dead', v_d.tenant_id, v_reason,
        coalesce('http_' || v_r.status_code, v_r.error_class)
      );
    else
      update hookline.deliveries d
      set state = 'retrying', lease_token = null, runner = null, attempt_count = v_attempt, next_attempt_at = v_next
      where d.delivery_id = v_d.delivery_id;
    end if;
    return query select v_d.delivery_id, v_outcome, v_next;
  end loop;
end
$$;

comment on function hookline.complete(jsonb, timestamptz) is
  'Records a batch of attempt outcomes [{delivery_id, lease_token, status_code, error_class, duration_ms, retry_after_s, response_excerpt, runner}] and decides each delivery''s next state: 2xx succeeded (row leaves the queue); 408, 409, 425, 429, 5xx (and nonstandard 6xx-9xx) and no answer (error_class) retry after the endpoint''s retry_schedule[attempt] plus up to 20 % jitter, or after Retry-After clamped to [1 s, 24 h]; other statuses are permanent (dead) unless the endpoint retries client errors; 410 is dead and pauses the endpoint; a failure after the last scheduled retry is dead. No answer and 5xx feed the endpoint''s circuit breaker as failures, other answers but 408/409/425/429 as successes. A result whose lease is no longer current is recorded as a stale attempt and changes nothing. Returns (delivery_id, outcome, next_attempt_at) per result; outcome is succeeded, retrying, dead, stale or unknown. Errors: HL026 malformed result.';

-- SECURITY DEFINER: runners have no table privileges; they record outcomes only through this function.
revoke all on function hookline.complete(jsonb,timestamp with time zone) from public;
grant execute on function hookline.complete(jsonb,timestamp with time zone) to hookline_runner;
