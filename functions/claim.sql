create or replace function hookline.claim(
  runner text,
  max_rows integer,
  lease interval,
  now timestamptz default pg_catalog.now()
)
returns table (
  delivery_id bigint,
  lease_token uuid,
  webhook_id text,
  url text,
  timeout_ms integer,
  signing_secret text,
  event_type text,
  body text,
  attempt integer,
  generation integer,
  endpoint_id bigint,
  traceparent text,
  event_received_at timestamptz
)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_endpoint record;
  v_left integer := claim.max_rows;
  v_take integer;
  v_got integer;
  v_room integer;
begin
  if coalesce(claim.runner, '') = '' or claim.max_rows is null or claim.max_rows not between 1 and 10000
     or claim.lease is null or claim.lease <= interval '0' or claim.now is null then
    raise exception using
      errcode = 'HL026',
      message = 'claim needs a runner name, max_rows between 1 and 10000 and a positive lease';
  end if;

  -- Endpoints with due work, oldest due first. Each endpoint row is locked (skip locked), so
  -- two runners never count the same endpoint's room at once: max_in_flight holds across
  -- runners. NO KEY UPDATE does not block ingest's foreign-key checks (KEY SHARE).
  for v_endpoint in
    select e.endpoint_id, e.max_in_flight, e.timeout_ms
    from hookline.endpoints e
    where e.state = 'active'
      and exists (
        select from hookline.deliveries d
        where d.endpoint_id = e.endpoint_id and d.next_attempt_at <= claim.now
      )
    order by (select pg_catalog.min(d.next_attempt_at) from hookline.deliveries d where d.endpoint_id = e.endpoint_id)
    for no key update of e skip locked
  loop
    -- The endpoint's circuit breaker: nothing while open, its probes while half-open.
    v_room := hookline._breaker_room('endpoint:' || v_endpoint.endpoint_id, claim.now);
    select least(v_endpoint.max_in_flight, v_room) - pg_catalog.count(*) into v_take
    from hookline.deliveries d
    where d.endpoint_id = v_endpoint.endpoint_id and d.state = 'in_flight' and d.next_attempt_at > claim.now;
    v_take := least(v_take, v_left);
    continue when v_take <= 0;

    return query
    with picked as (
      select d.delivery_id
      from hookline.deliveries d
      where d.endpoint_id = v_endpoint.endpoint_id and d.next_attempt_at <= claim.now
      order by d.next_attempt_at
      limit v_take
      for update skip locked
    ),
    claimed as (
      update hookline.deliveries d
      set state = 'in_flight',
        lease_token = pg_catalog.gen_random_uuid(),
        runner = claim.runner,
        -- The lease outlives the request timeout, so a slow answer is not taken for a crash.
        next_attempt_at = claim.now + greatest(claim.lease, pg_catalog.make_interval(secs => (v_endpoint.timeout_ms + 1000) / 1000.0))
      from picked p
      where d.delivery_id = p.delivery_id
      returning d.delivery_id, d.lease_token, d.event_id, d.event_received_at, d.attempt_count, d.generation
    )
    select c.delivery_id, c.lease_token, 'dlv_' || c.delivery_id, e.url, e.timeout_ms, pg_catalog.concat_ws(' ', e.signing_secret, e.previous_signing_secret),
      ev.event_type,
      case when e.body_format = 'payload' then ev.payload::text
           else (select b.body from hookline._delivery_body(c.event_id, c.event_received_at) b) end,
      c.attempt_count + 1, c.generation, e.endpoint_id, ev.traceparent, c.event_received_at
    from claimed c
    join hookline.endpoints e on e.endpoint_id = v_endpoint.endpoint_id
    -- One primary-key probe per claimed row, in its partition; the LIMIT keeps the planner
    -- from hashing a whole partition of events for a batch of fifty.
    cross join lateral (
      select x.event_type, x.occurred_at, x.received_at, x.payload, x.traceparent
      from hookline.events x
      where x.event_id = c.event_id and x.received_at = c.event_received_at
      limit 1
    ) ev;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
    exit when v_left <= 0;
  end loop;
end
$$;

comment on function hookline.claim(text, integer, interval, timestamptz) is
  'Leases up to max_rows due deliveries to a runner and returns everything the HTTP call needs: delivery id, lease token, webhook-id (dlv_<delivery id>, stable across retries and replays), URL, timeout, signing secret (two, space-separated, newest first, while a rotation overlaps; sealed as stored), event type, the JSON body (the envelope of docs/envelope.schema.json; the event''s payload alone for an endpoint whose body_format is payload), attempt number, generation, endpoint id, the event''s traceparent (sent as a header) and when the event was received. Due means next_attempt_at <= now: pending, retrying, or in_flight with an expired lease. Skips paused and disabled endpoints and endpoints whose circuit breaker is open (a half-open one gets its probes), and never puts more than an endpoint''s max_in_flight in flight; FOR UPDATE SKIP LOCKED, so runners never wait for each other. The lease lasts lease, at least the endpoint timeout plus 1 s. Errors: HL026 invalid argument.';

-- SECURITY DEFINER: runners have no table privileges; they lease deliveries only through this function.
revoke all on function hookline.claim(text,integer,interval,timestamp with time zone) from public;
grant execute on function hookline.claim(text,integer,interval,timestamp with time zone) to hookline_runner;
