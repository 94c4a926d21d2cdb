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
-- Generic plans from the first call, made of index scans whatever the statistics said when the
-- plan was made. Left to choose, the plan cache replanned the statements on every call (custom
-- plans know max_rows and look cheaper: 3-4 us of CPU per delivery at batch 100); and a generic
-- plan made while deliveries was empty (a runner's first claim) read it sequentially, and kept
-- doing so at 50,000 queued rows until vacuum or analyze invalidated it. Every step below is an
-- index range read by design, so index scans are the right plan at any size (the active
-- endpoints through their partial index, endpoints_active_idx). The cost that enable_seqscan adds
-- to a read that has no index (a small table's, when one is dropped) would cross
-- jit_above_cost, and a JIT compile costs 100 ms: no JIT here.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_endpoints bigint[];
  v_first_due timestamptz[];
  v_cursor jsonb;
  v_hint jsonb;
  v_from jsonb;
  v_at timestamptz;
  v_cursors jsonb;
  v_cooled boolean;
  v_breakers text[];
  v_order bigint;
  v_leases jsonb;
  v_leased integer[];
  v_leases_at timestamptz;
  v_commit text;
  v_token_head text;
  v_candidates bigint[];
  v_next_candidates bigint[];
  v_probed_at timestamptz;
  v_probe_ms double precision;
  v_started timestamptz;
  v_rows integer;
  v_full bigint[];
begin
  if coalesce(claim.runner, '') = '' or claim.max_rows is null or claim.max_rows not between 1 and 10000
     or claim.lease is null or claim.lease <= interval '0' or claim.now is null then
    raise exception using
      errcode = 'HL026',
      message = 'claim needs a runner name, max_rows between 1 and 10000 and a positive lease';
  end if;

  -- Lock order, the same in every function that touches these tables (docs/delivery.md):
  -- endpoints and senders by id, then circuit breakers by target, then deliveries and outbox
  -- messages by id.
  --
  -- 1. Endpoints (by id): those with due work, oldest due first, at most max_rows of them (one
  --    index probe each, of every active endpoint in a full probe, of the candidates between
  --    full probes: see "The candidates" below). When at most max_rows have due work, the
  --    lock waits (no SKIP LOCKED): a second runner waits for the first one's claim to commit,
  --    a millisecond, then counts the first one's leases in the fresh snapshot of the
  --    statement below and fills what room is left. So one hot endpoint serves every runner, and max_in_flight holds
  --    across runners. When more have due work, it takes only those with room and skips those
  --    another claim holds (the "skipped" step below). NO KEY UPDATE does not block ingest's
  --    foreign-key checks (KEY SHARE).
  --
  --    Each endpoint's probe starts at its claim cursor (docs/delivery.md, "The claim cursor"):
  --    a hint this session keeps in the setting hookline.claim_cursor ("e"), for each endpoint
  --    its last claim took rows from (at most max_rows of them, so the hint stays small however
  --    many endpoints there are), the first due position that claim saw (nothing visible and
  --    due lay before it then); other endpoints are probed from the head. So a probe does not
  --    walk again over the index entries that claimed and finished rows leave behind until
  --    vacuum (forever, while a long transaction holds the xmin horizon back). Only rows that a
  --    transaction still open at that claim wrote with an earlier position can lie before a
  --    cursor; they are found by the probe from the start that runs at least every second (the
  --    cursor's "at"), and whenever the bounded probe finds nothing. The same setting holds the
  --    lease cursor (step 3): one setting, read and written once per claim.
  --
  --    The statement also reads each endpoint's breaker (no lock), so that step 2 runs only
  --    when a breaker needs it.
  v_cursor := nullif(pg_catalog.current_setting('hookline.claim_cursor', true), '')::jsonb;
  v_hint := v_cursor;
  v_at := (v_hint->>'at')::timestamptz;
  if v_at is null or v_at > claim.now or v_at <= claim.now - interval '1 second' then
    v_hint := null;
  end if;
  v_from := v_hint->'e';
  -- The candidates (docs/delivery.md, "Idle endpoints and the full probe"): an idle active
  -- endpoint's probe costs as much as a busy one's, so a claim beside 10,000 idle endpoints
  -- spent most of its time finding them idle. This is the one place that says when a claim
  -- probes every active endpoint. It probes only the candidates, the endpoints that this
  -- session's last full probe found with due work ("c", those still found so since), while all of these hold: the last claim was not short ("c" is null after a
  -- claim that returned fewer than max_rows, and after none), the full probe ran at an earlier
  -- or the same now ("ca") and less than ten times its own duration ago ("cd", in ms), and
  -- less than a second ago. Otherwise, and whenever the candidates give no endpoint with due
  -- work, it probes every active endpoint (before an empty answer). So new work on an idle
  -- endpoint waits at most a second (about ten full probes' time) behind a runner whose
  -- claims come back full, and a runner that keeps up probes every endpoint on every claim.
  -- Like the cursor, the candidates are a hint: a claim from them locks, counts and claims as
  -- one from a full probe; a paused or removed candidate is not found; a setting another
  -- client left (a pooled server connection) is as good a hint. When every candidate with due
  -- work is full (it leases nothing: max_in_flight, an open breaker), the same claim makes a
  -- full probe and claims again (the outer loop, "v_full" below): the endpoints it locks then
  -- come after the full candidates, out of the id order, so it takes them as a crowded claim
  -- does, only those with room and none that another claim holds (SKIP LOCKED never waits, so
  -- this cannot deadlock), and it does so only when the first pass locked no breaker, so that
  -- breakers are still locked after every endpoint and before any delivery.
  v_probed_at := (v_cursor->>'ca')::timestamptz;
  v_probe_ms := (v_cursor->>'cd')::double precision;
  if v_probed_at <= claim.now
     and claim.now - v_probed_at < least(interval '1 second', v_probe_ms * interval '10 milliseconds') then
    v_candidates := (v_cursor->>'c')::bigint[];
  end if;
  -- Passes: one, or two when the candidates were all full (at the end of the loop): steps 1
  -- to 4.
  <<passes>>
  loop
    loop
      if v_candidates is null then
        v_started := pg_catalog.clock_timestamp();
      end if;
      with probe as materialized (
        select c.endpoint_id, c.max_in_flight, due.next_attempt_at as first_due
        from (
          -- Every active endpoint, or the candidates alone: one branch runs (a one-time filter
          -- in the generic plan), each through an index.
          select c.endpoint_id, c.max_in_flight
          from hookline.endpoints c
          where v_candidates is null and c.state = 'active'
          union all
          select c.endpoint_id, c.max_in_flight
          from pg_catalog.unnest(v_candidates) as u(endpoint_id)
          join hookline.endpoints c on c.endpoint_id = u.endpoint_id
          where v_candidates is not null and c.state = 'active'
        ) c
        left join lateral (
          select d.next_attempt_at
          from hookline.deliveries d
          where d.endpoint_id = c.endpoint_id and d.next_attempt_at <= claim.now
            and d.next_attempt_at >= coalesce((v_from->>c.endpoint_id::text)::timestamptz, '-infinity')
          order by d.next_attempt_at
          limit 1
        ) due on true
      ),
      -- The second pass after full candidates (v_full, locked already) is crowded whatever the
      -- count: only endpoints with room, none waited for.
      crowded as (
        select pg_catalog.count(*) > claim.max_rows or v_full is not null as is_crowded
        from probe p where p.first_due is not null
      ),
      -- At most max_rows endpoints with due work: every one, locked in id order, waiting for a
      -- claim that holds one (see above). Each endpoint and its breaker by a probe of its key,
      -- in id order (a lateral subquery per endpoint: the locks are taken in the order of the
      -- probes). Joined, a plan made while the endpoints were drained read every endpoint (a
      -- nested loop over the whole index, 3,003 rows a claim beside 3,000 paused endpoints).
      waited as (
        select p.endpoint_id, p.first_due,
          b.state = 'open' and not b.is_forced and b.open_until <= claim.now as is_cooled
        from (
          select p.endpoint_id, p.first_due
          from probe p
          where p.first_due is not null and not (select c.is_crowded from crowded c)
          order by p.endpoint_id
        ) p
        cross join lateral (
          select from hookline.endpoints e where e.endpoint_id = p.endpoint_id for no key update
        ) e
        left join lateral (
          select b.state, b.is_forced, b.open_until
          from hookline.circuit_breakers b where b.target = 'endpoint:' || p.endpoint_id limit 1
        ) b on true
      ),
      -- More: only those with room, by an unlocked count, so that endpoints at their
      -- max_in_flight or behind an open breaker do not take every place and starve the rest; and
      -- none that another claim holds (SKIP LOCKED: that claim is filling it, and the others
      -- have work too), so that concurrent claims spread over the due endpoints instead of
      -- queueing for the same ones and finding them full. In first due order until max_rows are
      -- locked, row by row, only as far as needed: the candidates are sorted below the count's
      -- filter (OFFSET 0), and each is locked by a lateral lookup of its own, which the planner
      -- can neither hash nor sort again. SKIP LOCKED never waits, so this order cannot deadlock
      -- with the id order of every other lock of endpoints.
      skipped as (
        select s.endpoint_id, s.first_due, (
            select b.state = 'open' and not b.is_forced and b.open_until <= claim.now
            from hookline.circuit_breakers b
            where b.target = 'endpoint:' || s.endpoint_id
          ) as is_cooled
        from (
          select p.endpoint_id, p.max_in_flight, p.first_due
          from probe p
          where p.first_due is not null and (select c.is_crowded from crowded c)
            and (v_full is null or p.endpoint_id <> all(v_full))
          order by p.first_due
          offset 0
        ) s
        cross join lateral (
          select from hookline.endpoints e
          where e.endpoint_id = s.endpoint_id
          for no key update skip locked
        ) e
        where least(s.max_in_flight, (
            select hookline._breaker_limit(o.state, o.is_forced, o.open_until, o.probes, claim.now)
            from hookline.circuit_breakers o
            where o.target = 'endpoint:' || s.endpoint_id
          )) > (
            select pg_catalog.count(*)
            from (
              select from hookline.deliveries f
              where f.endpoint_id = s.endpoint_id and f.state = 'in_flight' and f.next_attempt_at > claim.now
              limit s.max_in_flight
            ) f
          )
        limit claim.max_rows
      )
      select pg_catalog.array_agg(x.endpoint_id order by x.endpoint_id), pg_catalog.array_agg(x.first_due order by x.endpoint_id),
        pg_catalog.jsonb_object_agg(x.endpoint_id::text, x.first_due), pg_catalog.bool_or(x.is_cooled),
        -- The next candidates: the probed endpoints with due work, at most the oldest due
        -- greatest(128, 4 * max_rows) of them (no sort while they are fewer).
        (select case when pg_catalog.count(*) <= greatest(128, 4 * claim.max_rows)
                  then pg_catalog.array_agg(p.endpoint_id)
                  else (select pg_catalog.array_agg(q.endpoint_id)
                        from (select q.endpoint_id from probe q where q.first_due is not null
                              order by q.first_due limit greatest(128, 4 * claim.max_rows)) q) end
         from probe p where p.first_due is not null)
      into v_endpoints, v_first_due, v_cursors, v_cooled, v_next_candidates
      from (select * from waited union all select * from skipped) x;
      exit when v_endpoints is not null or (v_hint is null and v_candidates is null);
      v_hint := null;
      v_from := null;
      v_candidates := null;
    end loop;
    v_at := case when v_hint is null then claim.now else v_at end;
    if v_candidates is null then
      v_probed_at := claim.now;
      v_probe_ms := extract(epoch from pg_catalog.clock_timestamp() - v_started) * 1000;
    end if;
    if v_endpoints is null then
      -- An assignment, not PERFORM: a simple expression, evaluated without an executor start.
      -- No candidates: the next claim probes every endpoint.
      v_cursor := pg_catalog.set_config('hookline.claim_cursor', pg_catalog.jsonb_build_object(
        'at', v_at, 'e', null, 'leased_at', v_cursor->'leased_at', 'l', v_cursor->'l',
        'c', null, 'ca', v_probed_at, 'cd', v_probe_ms)::text, false);
      return;
    end if;

    -- The commit of a claim does not wait for its WAL to reach the disk (docs/delivery.md, "A
    -- claim's commit"): the endpoints stay locked for the claim's work, not for a flush as well,
    -- and the runner's complete, which waits for its own flush, flushes the claim's with it.
    -- A claim that a server crash loses leaves its deliveries due again at once, not at the end
    -- of the lease: they are sent again, as after any crash before complete (at least once).
    -- For this transaction only: an assignment, evaluated without an executor start.
    v_commit := pg_catalog.set_config('synchronous_commit', 'off', true);

    -- 2. Circuit breakers (by target): the open ones whose cool-down is over turn half-open
    --    below (hookline._breaker_room), these and no others: the only breaker locks of a
    --    claim are taken here (v_breakers). Closed and half-open breakers are only read.
    --    One that opened since this statement's snapshot (by a complete whose now trails the
    --    claim's by its cool-down or more) waits for the next claim: step 4 locked it in the
    --    order of the batch, after the deliveries of the endpoints before it, and deadlocked
    --    with a complete that held it and locked those deliveries (docs/delivery.md, "Lock
    --    order").
    v_breakers := null;
    if v_cooled then
      -- Each by a probe of its key, in target order (a lateral per target: the locks follow
      -- the probes' order; `in (...)` with an ORDER BY may read the whole primary key in its
      -- order on drained statistics, docs/performance.md rule 2).
      select pg_catalog.array_agg(l.target order by l.target) into v_breakers
      from (select 'endpoint:' || u.id as target from pg_catalog.unnest(v_endpoints) as u(id) order by 1) t
      cross join lateral (
        select b.target
        from hookline.circuit_breakers b
        where b.target = t.target and b.state = 'open' and not b.is_forced and b.open_until <= claim.now
        for update
      ) l;
    end if;

    -- 3. The endpoints' unexpired leases, counted from each one's lease cursor (docs/delivery.md,
    --    "The lease cursor"): this claim's number in claim order (the endpoints are locked, so
    --    every claim of theirs before it has committed and every claim after it draws a larger
    --    one), and this session's hint ("l" in the setting), for each endpoint its last claim
    --    took from, the number of the oldest lease that was unexpired at that claim's count
    --    ("leased_at"). A lease before it had ended or expired then, and stays so: only a claim
    --    makes a lease, with a new number. So the count walks the leases taken since that one (a
    --    batch or two), not every lease of the lease period, which a held xmin horizon keeps in
    --    the index, finished ones included. An endpoint without a hint, or a hint older than the
    --    lease or taken at a later now, is counted over its leases by expiry. Then each
    --    endpoint's hint is its oldest unexpired lease, or this claim's number when none is.
    v_order := pg_catalog.nextval('hookline.deliveries_lease_order_seq');
    -- The lease tokens of this claim: 64 random bits of its own, then each delivery's id (one
    -- random draw per claim, not per row: a draw costs most of a microsecond).
    v_token_head := pg_catalog.left(pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), 16);
    v_leases_at := (v_cursor->>'leased_at')::timestamptz;
    v_leases := case when v_leases_at <= claim.now and v_leases_at > claim.now - claim.lease then v_cursor->'l' end;
    select pg_catalog.array_agg(l.leased order by u.ord),
      pg_catalog.jsonb_object_agg(u.endpoint_id::text, coalesce(l.oldest, v_order))
    into v_leased, v_leases
    from unnest(v_endpoints) with ordinality as u(endpoint_id, ord)
    cross join lateral (select (v_leases->>u.endpoint_id::text)::bigint as lease_from) h
    cross join lateral (
      -- Two ranges, one of them read: from the hint in deliveries_lease_order_idx (whose
      -- predicate names the lease token, set exactly while in flight), or by expiry in
      -- deliveries_in_flight_idx (whose predicate names the state). So each range has one index
      -- it can use, whatever the statistics say.
      select pg_catalog.count(*) filter (where f.next_attempt_at > claim.now)::integer as leased,
        pg_catalog.min(f.lease_order) filter (where f.next_attempt_at > claim.now) as oldest
      from (
        select f.lease_order, f.next_attempt_at
        from hookline.deliveries f
        where h.lease_from is not null and f.endpoint_id = u.endpoint_id and f.lease_token is not null
          and f.lease_order >= h.lease_from
        union all
        select f.lease_order, f.next_attempt_at
        from hookline.deliveries f
        where h.lease_from is null and f.endpoint_id = u.endpoint_id and f.state = 'in_flight'
          and f.next_attempt_at > claim.now
      ) f
    ) l;

    -- 4. Deliveries, in one statement: each endpoint's room (max_in_flight, or its half-open
    --    breaker's probes, less its unexpired leases counted above; an open breaker that step
    --    2 locked turns half-open here and gives its probes, any other open one none), then
    --    per endpoint, oldest due endpoint
    --    first, its oldest due rows up to that room (FOR UPDATE SKIP LOCKED: never waits), at
    --    most max_rows in all. Each step is an index range read from its start (a LIMIT per
    --    endpoint), so the cost follows the batch, not the backlog, in custom and generic plans.
    return query
    with room as materialized (
      select e.endpoint_id, e.url, e.timeout_ms, e.signing_secret, e.previous_signing_secret, e.body_format, u.first_due,
        -- A breaker that step 2 did not lock is read, never locked or changed: open, it gives
        -- no room, whatever its cool-down (an open_until of infinity in the room rule).
        least(e.max_in_flight, case when b.state <> 'closed' then
            case when b.target = any(v_breakers) then hookline._breaker_room(b.target, claim.now)
                 else hookline._breaker_limit(b.state, b.is_forced, 'infinity', b.probes, claim.now) end
          end) - u.leased as room,
        -- The lease outlives the request timeout, so a slow answer is not taken for a crash.
        claim.now + greatest(claim.lease, pg_catalog.make_interval(secs => (e.timeout_ms + 1000) / 1000.0)) as lease_until
      from unnest(v_endpoints, v_first_due, v_leased) as u(endpoint_id, first_due, leased)
      join hookline.endpoints e on e.endpoint_id = u.endpoint_id
      -- Each breaker by a probe of its key: joined, a plan made on drained breakers read their
      -- primary key from its start for each endpoint, up to its target (the join's inner side
      -- is unique, so the scan stopped there: every breaker of the endpoints whose targets
      -- sort before it).
      left join lateral (
        select b.target, b.state, b.is_forced, b.probes
        from hookline.circuit_breakers b where b.target = 'endpoint:' || e.endpoint_id limit 1
      ) b on true
      where e.state = 'active'
      order by u.first_due, e.endpoint_id
    ),
    picked as materialized (
      select p.row_id, r.lease_until
      from room r
      cross join lateral (
        select d.ctid as row_id
        from hookline.deliveries d
        -- From the first due row found above: the scan does not walk again over the dead index
        -- entries that claimed rows leave before it until vacuum (rows made due earlier since
        -- then wait for the next claim).
        where d.endpoint_id = r.endpoint_id and d.next_attempt_at between r.first_due and claim.now
        order by d.next_attempt_at
        limit greatest(least(r.room, claim.max_rows), 0)
        for update of d skip locked
      ) p
      where r.room > 0
      limit claim.max_rows
    ),
    claimed as (
      update hookline.deliveries d
      set state = 'in_flight',
        lease_token = (v_token_head || pg_catalog.lpad(pg_catalog.to_hex(d.delivery_id), 16, '0'))::uuid,
        runner = claim.runner,
        lease_order = v_order,
        next_attempt_at = p.lease_until
      from picked p
      -- By the row version picked (and locked) above: no second primary-key probe per row. The
      -- lock keeps that version current until this update.
      where d.ctid = p.row_id
      returning d.delivery_id, d.lease_token, d.event_id, d.event_received_at, d.attempt_count, d.generation, d.endpoint_id
    )
    select c.delivery_id, c.lease_token, 'dlv_' || c.delivery_id, r.url, r.timeout_ms,
      pg_catalog.concat_ws(' ', r.signing_secret, r.previous_signing_secret),
      (ev.e).event_type,
      case when r.body_format = 'payload' then (ev.e).payload::text
           else (select b.body from hookline._delivery_body(ev.e) b) end,
      c.attempt_count + 1, c.generation, c.endpoint_id, (ev.e).traceparent, c.event_received_at
    from claimed c
    join room r on r.endpoint_id = c.endpoint_id
    -- One primary-key probe per claimed row, in its partition (the body is built from that row,
    -- not read again); the LIMIT keeps the planner from hashing a whole partition of events for
    -- a batch of fifty.
    cross join lateral (
      select x as e
      from hookline.events x
      where x.event_id = c.event_id and x.received_at = c.event_received_at
      limit 1
    ) ev;
    -- The setting, once per claim, after the batch is known: a short batch (fewer rows than
    -- max_rows) leaves no candidates, so the next claim probes every endpoint.
    get diagnostics v_rows = row_count;
    -- Candidates that leased nothing (every one full): a second pass, a full probe (see "The
    -- candidates" above), once, and only while no breaker is locked.
    exit passes when v_rows > 0 or v_candidates is null or v_full is not null or v_cooled;
    v_full := v_endpoints;
    v_candidates := null;
    v_hint := null;
    v_from := null;
  end loop;
  v_cursor := pg_catalog.set_config('hookline.claim_cursor', pg_catalog.jsonb_build_object(
    'at', v_at, 'e', v_cursors, 'leased_at', claim.now, 'l', v_leases,
    'c', case when v_rows >= claim.max_rows then v_next_candidates::text end,
    'ca', v_probed_at, 'cd', v_probe_ms)::text, false);
end
$$;

comment on function hookline.claim(text, integer, interval, timestamptz) is
  'Leases up to max_rows due deliveries to a runner and returns everything the HTTP call needs: delivery id, lease token, webhook-id (dlv_<delivery id>, stable across retries and replays), URL, timeout, signing secret (two, space-separated, newest first, while a rotation overlaps; sealed as stored), event type, the JSON body (the envelope of docs/envelope.schema.json; the event''s payload alone for an endpoint whose body_format is payload), attempt number, generation, endpoint id, the event''s traceparent (sent as a header) and when the event was received. Due means next_attempt_at <= now: pending, retrying, or in_flight with an expired lease. Skips paused and disabled endpoints and endpoints whose circuit breaker is open (a half-open one gets its probes), and never puts more than an endpoint''s max_in_flight in flight, across runners: an endpoint with due work is locked for the moment of the claim (a second runner waits for it, then fills the room left), deliveries FOR UPDATE SKIP LOCKED. Endpoints are served oldest due first; when more of them have due work than max_rows, only those with room by an unlocked count are taken, so that full ones do not starve the rest, and those another claim holds are skipped instead of waited for, so that concurrent claims spread over them. A claim probes every active endpoint only in a full probe: after a claim of this session that returned fewer than max_rows (or none), ten times the last full probe''s duration or a second after it (by now), or when the candidates give no endpoint with due work or only full ones (that claim then takes only endpoints with room it can lock without waiting); otherwise only the candidates, the endpoints the last full probe found with due work (a hint: new work on an idle endpoint waits for the next full probe, at most a second behind full claims). Each endpoint''s due probe starts at this session''s claim cursor (a hint; from the head at least every second and before an empty answer); its count of unexpired leases at this session''s lease cursor (the oldest lease unexpired at the last count, in claim order, deliveries.lease_order); all three are kept in the session setting hookline.claim_cursor. The lease lasts lease, at least the endpoint timeout plus 1 s. A claim that leases anything commits without waiting for the WAL flush (synchronous_commit off for its transaction: call it in a transaction of its own). Errors: HL026 invalid argument.';

-- SECURITY DEFINER: runners have no table privileges; they lease deliveries only through this function.
revoke all on function hookline.claim(text,integer,interval,timestamp with time zone) from public;
grant execute on function hookline.claim(text,integer,interval,timestamp with time zone) to hookline_runner;
