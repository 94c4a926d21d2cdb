create or replace function hookline.claim_messages(
  runner text,
  max_rows integer,
  lease interval,
  now timestamptz default null
)
returns table (
  message_id bigint,
  lease_token uuid,
  phone_number_id text,
  access_token text,
  timeout_ms integer,
  body text,
  send_within_ms integer
)
language plpgsql
set search_path = ''
security definer
-- Every read here is an index range read by design (a sender's due messages, its claims of the
-- last second, a pair's claims). A plan made while the outbox was small (statistics of a few
-- rows) read it sequentially, and went on doing so after a burst of messages and the history
-- of sent ones grew it, until an analyze: so no sequential or bitmap scan, and no JIT (the cost
-- that enable_seqscan adds to the senders' read would cross jit_above_cost). Generic plans from
-- the first call: with those settings the plan cache found the custom plans of the blocked
-- pairs' update (they know the arrays' lengths) cheaper and re-planned it on every call.
-- No sort where an index gives the order: the pair-limit statement's look for a candidate's
-- nearest older queued message (order by message_id desc limit 1) is then read backwards on
-- outbox_live_recipient_idx; with statistics taken while the outbox had no live rows, a plan
-- read outbox_due_idx instead (every due message of the number per candidate) and sorted the
-- one row it expected. The sorts no index can replace (the window and the aggregates) stay.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_s hookline.senders;
  v_start timestamptz := coalesce(claim_messages.now, pg_catalog.clock_timestamp());
  v_now timestamptz;
  v_at timestamptz;
  v_first_at timestamptz;
  v_within integer;
  v_left integer := claim_messages.max_rows;
  v_limit integer;
  v_used integer;
  v_take integer;
  v_room integer;
  v_busy integer;
  v_got integer;
  v_prefix integer;
  v_seen integer;
  v_allowed bigint[];
  v_blocked bigint[];
  v_until timestamptz[];
begin
  if coalesce(claim_messages.runner, '') = '' or claim_messages.max_rows is null
     or claim_messages.max_rows not between 1 and 10000
     or claim_messages.lease is null or claim_messages.lease <= interval '0' then
    raise exception using
      errcode = 'HL064',
      message = 'claim_messages needs a runner name, max_rows between 1 and 10000 and a positive lease';
  end if;

  -- The clock (now given: that time, for tests): a sender's window is counted at v_now, read
  -- after its row is locked, and its messages are claimed at v_at, read after the sender's locks
  -- and the pair limit's update, just before the claiming statement: no lock wait of this claim
  -- (a deploy's lock on the outbox, say) comes between a claim's time and its rows' return, so
  -- the send margin is spent on the way to the runner only. send_within_ms adds the time from
  -- the statement's start to v_at: the runner measures the margin from before it sent the
  -- claim, so its deadline still falls before v_at + m (claims are counted over 1 s + m to
  -- v_at). Counting at v_now, before v_at, counts a superset of the window. Once the claim has
  -- run for half the margin since its first claim, it takes no further sender, so the rows it
  -- returns have at least the other half left.
  -- Lock order (docs/outbound.md): sender, then its breaker, then outbox rows. Senders with due
  -- messages, oldest due first; each sender row is locked (skip locked) while its last second
  -- is counted and filled, so the limits hold across runners.
  -- The numbers with live messages and their first due times (hookline._live_numbers: idle
  -- numbers are not read), each one's sender by key (a LIMIT in a lateral subquery, which the
  -- planner cannot turn into a join: never a read of every sender, which a plan made while
  -- there were few chose). Written as EXISTS over the outbox, a generic plan made while the
  -- outbox had no live message read every due message of every number (paused and throttled
  -- ones too) and hashed them, on every claim for the session's life. Each sender is locked
  -- when the loop reaches it (below), not here: a loop over a locking query locks the rows of
  -- each batch it fetches, ten at a time, and a claim that filled its rows from the first
  -- number held nine more that a concurrent claim (another runner's) then skipped, finding
  -- nothing.
  for v_s in
    select s.*
    from hookline._live_numbers() l
    cross join lateral (
      select n.*
      from hookline.senders n
      where n.phone_number_id = l.phone_number_id
      limit 1
    ) s
    where l.first_due <= v_start
      and s.state = 'active'
      and (s.throttled_until is null or s.throttled_until <= v_start)
    order by l.first_due
  loop
    v_now := coalesce(claim_messages.now, pg_catalog.clock_timestamp());
    exit when v_now > v_first_at + hookline._send_margin() / 2;
    -- The sender, locked (skip locked: another claim is filling it) and read again as locked,
    -- still active and not throttled.
    select n.* into v_s
    from hookline.senders n
    where n.phone_number_id = v_s.phone_number_id and n.state = 'active'
      and (n.throttled_until is null or n.throttled_until <= v_start)
    for no key update skip locked;
    continue when not found;
    -- Messages per second in every sliding second of the sends' starts, on the database's
    -- clock: a message claimed at t is started by t + m (the send margin, send_within_ms) or
    -- given back unsent, so the claims of the number in the window (now - 1 s - m, now] are
    -- counted up to the limit (hookline._sender_window, which next_message_due reads too).
    v_limit := coalesce(v_s.throttled_rate, v_s.messages_per_second);
    select w.used into v_used
    from hookline._sender_window(v_s.phone_number_id, v_limit, v_now) w;
    v_take := least(v_limit - v_used, v_left);
    continue when v_take <= 0;

    -- The breaker: nothing while open; while half-open, at most its probes in flight.
    v_room := hookline._breaker_room('sender:' || v_s.phone_number_id, v_now);
    if v_room is not null then
      select w.leases into v_busy
      from hookline._sender_window(v_s.phone_number_id, v_limit, v_now) w;
      v_take := least(v_take, v_room - v_busy);
      continue when v_take <= 0;
    end if;

    -- The pair limit, on a bounded prefix of the due messages (oldest first): per recipient,
    -- numbered in order, at most pair_burst claims per pair_interval * pair_burst, counting
    -- the recipient's recent claims. Messages it holds back are deferred until the pair allows
    -- them (when the oldest recent claim leaves the window; behind a message claimed now, by
    -- pair_interval), always into the future, so
    -- they leave the due set (no claim rescans them, next_message_due stays meaningful) and
    -- the messages behind them are reached.
    -- A retry counts like any other message (WhatsApp counts what reaches it: a send that
    -- timed out may have, and a retry right after it would be a second message within the
    -- interval, answered 131056 or delivered twice): the message's own recent claim is one of
    -- its recipient's, and the message is not claimed again while that claim is in the window,
    -- so a message's claims in any window are at most one and its last_claimed_at holds them
    -- all (claimed again sooner, it would erase its first send from the window).
    -- A recipient's messages go in their order (n counts them by message_id): a message waits
    -- while an older message of its recipient is queued (ahead_at: the due time of the nearest
    -- of them; read from outbox_live_recipient_idx, the live messages), deferred until then
    -- (at least just past now). Without it, a message the pair limit deferred was overtaken by
    -- a later one of its recipient that the bounded prefix had not reached, still due at its
    -- own, earlier time (found by benchmarks/outbox_ledger.py); so was a message waiting for a
    -- retry or for a pair-limit answer's back-off by one queued after it.
    -- The prefix: first the messages to take and 16 more, and the long prefix (four times as
    -- many, and 50) only when the short one held too many back: each candidate costs two index
    -- probes (its pair's claims, its nearest older queued message), and most claims find their
    -- rows among the first ones (a claim of 64 read 306 candidates). A message the short
    -- prefix holds back, the long one holds back too (its own claim, an older queued message
    -- of its recipient, its place among its recipient's messages in the prefix, which a longer
    -- prefix can only push later), so deferring it first changes nothing. The short prefix may
    -- let a message through that the long one holds back behind an older unconfirmed message of
    -- its recipient due later (the order promised is behind queued ones), as the long prefix
    -- does for such a message beyond it; the pair limit counts either way.
    v_prefix := v_take + 16;
    loop
      select coalesce(pg_catalog.array_agg(j.message_id order by j.next_attempt_at, j.message_id)
                        filter (where not j.blocked), '{}'),
             coalesce(pg_catalog.array_agg(j.message_id) filter (where j.blocked), '{}'),
             coalesce(pg_catalog.array_agg(greatest(case
                        when j.recent >= v_s.pair_burst then j.first_at + v_s.pair_interval * v_s.pair_burst
                        when j.own_at is null and j.n > v_s.pair_burst - j.recent
                          then v_now + v_s.pair_interval end,
                        j.own_at + v_s.pair_interval * v_s.pair_burst,
                        greatest(j.ahead_at, v_now + interval '1 millisecond')))
                        filter (where j.blocked), '{}'),
             pg_catalog.count(*)::integer
      into v_allowed, v_blocked, v_until, v_seen
      from (
        -- Held back: claimed itself within the window, past the pair's room, or behind an older
        -- queued message of its recipient (never null: n and recent are counts).
        select j.*, (j.own_at is not null or j.n > v_s.pair_burst - j.recent or j.ahead_at is not null) as blocked
        from (
          select c.message_id, c.next_attempt_at, r.recent, r.first_at, a.ahead_at,
            case when c.last_claimed_at > v_now - v_s.pair_interval * v_s.pair_burst
                 then c.last_claimed_at end as own_at,
            pg_catalog.row_number() over (partition by c.recipient order by c.message_id) as n
          from (
            select o.message_id, o.recipient, o.next_attempt_at, o.last_claimed_at
            from hookline.outbox o
            where o.phone_number_id = v_s.phone_number_id and o.next_attempt_at <= v_now
            order by o.next_attempt_at
            limit v_prefix
          ) c
          -- The recipient's claims in the pair window, read from outbox_pair_idx alone: the window
          -- as a row comparison on (recipient, last_claimed_at), the index's columns after the
          -- number, so that no plan reads outbox_claimed_idx instead (every claim of the number
          -- in the window, per candidate: 6,000 entries each at 1,000 a second and the default
          -- 6 s window), as a plan made while the outbox was empty did: `last_claimed_at > x`
          -- alone proved that partial index's predicate.
          cross join lateral (
            select pg_catalog.count(*) as recent, pg_catalog.min(p.last_claimed_at) as first_at
            from hookline.outbox p
            where p.phone_number_id = v_s.phone_number_id and p.recipient = c.recipient
              and (p.recipient, p.last_claimed_at) > (c.recipient, v_now - v_s.pair_interval * v_s.pair_burst)
          ) r
          -- The nearest older queued message of the recipient, read backwards on
          -- outbox_live_recipient_idx from the candidate's id (the order this asks for is that
          -- index's, so no plan reads another one: max(next_attempt_at) was read backwards on
          -- outbox_due_idx, every due message of the number per candidate, when the statistics
          -- said the outbox had no live rows). The candidate is deferred until that message is
          -- due; if that one is then held behind an older one, so is the candidate again.
          left join lateral (
            select q.next_attempt_at as ahead_at
            from hookline.outbox q
            where q.phone_number_id = v_s.phone_number_id and q.recipient = c.recipient
              and q.message_id < c.message_id and q.next_attempt_at is not null and q.state = 'queued'
            order by q.message_id desc
            limit 1
          ) a on true
        ) j
      ) j;

      update hookline.outbox o
      set next_attempt_at = greatest(o.next_attempt_at, x.until)
      from rows from (pg_catalog.unnest(v_blocked), pg_catalog.unnest(v_until)) as x (message_id, until)
      where o.message_id = x.message_id
        and o.message_id in (
          select b.message_id from hookline.outbox b
          where b.message_id = any (v_blocked) and b.state in ('queued', 'unconfirmed')
          for update skip locked
        );
      exit when pg_catalog.cardinality(v_allowed) >= v_take or v_seen < v_prefix or v_prefix >= v_take * 4 + 50;
      v_prefix := v_take * 4 + 50;
    end loop;

    v_at := coalesce(claim_messages.now, pg_catalog.clock_timestamp());
    -- Rounded down: never a deadline past v_at + m.
    v_within := pg_catalog.floor(extract(epoch from hookline._send_margin() + case when claim_messages.now is null
                  then v_at - pg_catalog.statement_timestamp() else interval '0' end) * 1000)::integer;
    -- The allowed messages by key alone (outbox_pkey), locked, then those still due: a condition
    -- on next_attempt_at in the locking read proves the predicates of the live messages'
    -- partial indexes, and a generic plan made while they were empty (a quiet outbox) read one
    -- of them whole for every claim, its whole backlog (docs/performance.md, "Plans that stay
    -- good"). A message locked and no longer due (finished by a status, or released, since the
    -- statement above) is left as it is; the lock ends with the claim.
    return query
    with picked as materialized (
      select o.message_id, o.next_attempt_at
      from hookline.outbox o
      where o.message_id = any (v_allowed[1:v_take])
      for update skip locked
    ),
    claimed as (
      update hookline.outbox o
      set state = 'sending',
        lease_token = pg_catalog.gen_random_uuid(),
        runner = claim_messages.runner,
        last_claimed_at = v_at,
        -- The lease outlives the request timeout, so a slow answer is not taken for a crash.
        next_attempt_at = v_at + greatest(claim_messages.lease,
          pg_catalog.make_interval(secs => (v_s.timeout_ms + 1000) / 1000.0))
      from picked p
      where o.message_id = p.message_id and p.next_attempt_at <= v_now
        and o.message_id = any (v_allowed[1:v_take])
      returning o.message_id, o.lease_token, o.recipient, o.message
    )
    select c.message_id, c.lease_token, v_s.phone_number_id, v_s.access_token, v_s.timeout_ms,
      (c.message || pg_catalog.jsonb_build_object(
        'messaging_product', 'whatsapp',
        'recipient_type', 'individual',
        case when c.recipient ~ '^[A-Z]{2}\.' then 'recipient' else 'to' end, c.recipient,
        'biz_opaque_callback_data', 'hookline:' || c.message_id
      ))::text,
      v_within
    from claimed c;
    get diagnostics v_got = row_count;
    if v_got > 0 then
      v_first_at := coalesce(v_first_at, v_at);
    end if;
    v_left := v_left - v_got;
    exit when v_left <= 0;
  end loop;
end
$$;

comment on function hookline.claim_messages(text, integer, interval, timestamptz) is
  'Leases up to max_rows due outbox messages to a runner and returns what the Graph API call needs: message id, lease token, phone number id, access token, timeout, the JSON body (the message plus messaging_product, to or recipient, and biz_opaque_callback_data hookline:<id>), and send_within_ms: the runner starts the POST within send_within_ms of sending the claim or gives the message back unsent (release_messages), never later; it is the send margin m (hookline._send_margin, 250 ms) plus the time from the claim statement''s start to the sender''s claim (clock time, read after the claim''s locks: a claim that waited for a lock still leaves its rows m; with now given, that time and m alone). Enforced here, across runners: paused and throttled senders are skipped; at most messages_per_second claims per sender in any window of 1 s + m (less after throttling), so at most that many sends start in any sliding second; the pair limit (pair_burst per pair_interval * pair_burst per recipient, a retry''s own earlier send included: a message is not claimed again within that window of its last claim; a message it holds back is deferred until its recipient may be sent to); a recipient''s messages in their order (a message waits while an older one of its recipient and number is queued: for a retry, a pair-limit wait or its turn; not while one is unconfirmed or in flight); the sender''s circuit breaker (nothing while open, its probes while half-open). Rows not yet allowed stay queued, unclaimed and uncounted. The lease lasts lease, at least the timeout plus 1 s. A claim takes no further sender once it has run for m / 2 since its first claimed row. now: for tests, the time of every step (default: the clock, read per sender). Errors: HL064 invalid argument.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.claim_messages(text,integer,interval,timestamp with time zone) from public;
grant execute on function hookline.claim_messages(text,integer,interval,timestamp with time zone) to hookline_runner;
