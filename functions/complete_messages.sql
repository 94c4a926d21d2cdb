create or replace function hookline.complete_messages(results jsonb, now timestamptz default pg_catalog.now())
returns table (message_id bigint, outcome text, next_attempt_at timestamptz)
language plpgsql
set search_path = ''
security definer
-- Generic plans from the first call (docs/performance.md, "Plans that stay good"): every
-- statement reads the results' arrays and the outbox, senders and breakers by key. Left to
-- choose, the plan cache re-planned the three lock statements on every call (their custom
-- plans know the length of the batch's id array, so they always looked cheaper). A generic
-- plan made while the outbox was small read it sequentially, and went on doing so once it had
-- grown, until an analyze: so no sequential or bitmap scan, and no JIT (as in claim_messages).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_r record;
  v_ids bigint[];
  v_lock bigint[];
  v_phones text[];   -- the batch's messages' numbers
  v_classes text[];  -- per result, in input order: its Graph error class (null without one)
  v_outcomes text[];
  v_wamids text[];
  v_ns bigint[];
  v_targets text[];
  v_successes boolean[];
  v_failed bigint[];     -- the failed results, in message order: message, class, code, detail
  v_failed_classes text[];
  v_failed_codes integer[];
  v_failed_details text[];
  v_failed_waits double precision[];  -- and Retry-After; then each one's new state
  v_failed_states text[];
begin
  if complete_messages.results is null or pg_catalog.jsonb_typeof(complete_messages.results) <> 'array'
     or complete_messages.now is null then
    raise exception using errcode = 'HL064', message = 'complete_messages needs a JSON array of results';
  end if;
  select r.message_id into v_r
  from pg_catalog.jsonb_to_recordset(complete_messages.results) as r(
    message_id bigint, lease_token uuid, status_code integer, error_class text
  )
  where r.message_id is null or r.lease_token is null
     or (r.status_code is null and r.error_class is null)
     or r.status_code not between 100 and 999
     or r.error_class not in ('timeout', 'network', 'connect')
  limit 1;
  if found then
    raise exception using
      errcode = 'HL064',
      message = 'each result needs message_id, lease_token, and a status_code (100-999) or an error_class (timeout, network, connect)',
      detail = format('result for message %s', v_r.message_id);
  end if;
  v_ids := array(
    select distinct (r->>'message_id')::bigint from pg_catalog.jsonb_array_elements(complete_messages.results) r
  );

  -- The lock order of every function that touches senders, breakers and the outbox
  -- (docs/outbound.md): the batch's senders sorted, then their breakers sorted, then its
  -- messages sorted, all at the top. A message's number never changes, so reading it
  -- before the locks is safe. Each message's number, and then each number's sender and
  -- breaker, by a probe of its key (a lateral subquery, never a join or `= any (ids)`): a plan
  -- made on a drained table (vacuumed while empty: its statistics say 0 pages) read the whole
  -- index in its order instead, the ids as a filter: outbox_pair_idx (every message ever
  -- sent), senders_pkey and circuit_breakers_pkey (every number), in each complete. The
  -- probes run in the numbers' sorted order, so the locks are taken in it.
  v_phones := array(
    select o.phone_number_id
    from pg_catalog.unnest(v_ids) as u(message_id)
    cross join lateral (select o.phone_number_id from hookline.outbox o where o.message_id = u.message_id limit 1) o
  );  -- (hookline._lock_senders takes each number once, sorted)
  perform hookline._lock_senders(v_phones);
  -- A pair-limit answer (131056) defers the recipient's other queued messages with the
  -- answered one (hookline._message_outcomes), so that their order holds: those
  -- (hookline._pair_messages) are locked here too, with the batch's, in one sorted statement. Skipped when locked elsewhere (as they
  -- were, locked later), one kept its earlier due time and was sent before the answered
  -- message it followed. Read after the sender's lock: what else makes a message of the
  -- number queued (a complete, a failed status) waits for it, except release_messages, whose
  -- messages are in flight (sending) and are locked too.
  -- Each result's Graph error class, once, by its position (the outcome statement below reads
  -- it there): a result with an error code that reached Meta with a non-2xx status has one.
  select pg_catalog.array_agg(r.class order by r.n),
    coalesce(pg_catalog.array_agg(r.message_id) filter (where r.class = 'recipient_throttle'), '{}')
  into v_classes, v_lock
  from (
    select r.n, r.message_id,
      case when r.error_code is not null and r.error_class is null and r.status_code not between 200 and 299
        then hookline._graph_error_class(r.error_code, coalesce(r.is_transient, false)) end as class
    from rows from (pg_catalog.jsonb_to_recordset(complete_messages.results) as (
      message_id bigint, status_code integer, error_class text, error_code integer, is_transient boolean
    )) with ordinality as r(message_id, status_code, error_class, error_code, is_transient, n)
    offset 0  -- kept a subquery: pulled up, its class was computed for each aggregate reading it
  ) r;
  if v_lock <> '{}' then
    v_lock := v_ids || array(select p.message_id from hookline._pair_messages(v_lock) as p(message_id));
  else
    v_lock := v_ids;
  end if;
  perform from hookline.outbox o where o.message_id = any (v_lock) order by o.message_id for update;

  -- Each result's class, in one statement. Guarded compare-and-set: only the holder of the
  -- current lease moves the state; a late result (lease expired, or a status webhook got
  -- there first) is stale and changes nothing. One result of a message counts: the first with
  -- the current lease's token, else the first (a late result listed before the current one
  -- made the current one stale too); `n` says which, for the failures below.
  select pg_catalog.array_agg(c.message_id order by c.message_id), pg_catalog.array_agg(c.outcome order by c.message_id),
    pg_catalog.array_agg(c.wamid order by c.message_id), pg_catalog.array_agg(c.n order by c.message_id)
  into v_ids, v_outcomes, v_wamids, v_ns
  from (
    -- A wamid too long for outbox_wamid_key is kept as its digest (hookline._id_key), as
    -- receive_many looks it up.
    select distinct on (r.message_id) r.message_id, hookline._id_key(r.wamid) as wamid, r.n,
      case
        when o.message_id is null then null  -- no such message: answered unknown
        when o.state <> 'sending' or o.lease_token <> r.lease_token then 'stale'
        when r.status_code between 200 and 299 and coalesce(r.wamid, '') <> '' then 'sent'
        when r.status_code between 200 and 299 then 'ambiguous'  -- accepted, but no wamid came back
        when r.error_class in ('timeout', 'network') then 'ambiguous'  -- the request may have arrived
        when r.error_class = 'connect' then 'transient'  -- nothing was sent
        when r.error_code is not null then v_classes[r.n]  -- its Graph error class, read above
        when r.status_code >= 500 then 'transient'
        when r.status_code = 429 then 'sender_throttle'
        else 'permanent_message'
      end as outcome
    from rows from (pg_catalog.jsonb_to_recordset(complete_messages.results) as (
      message_id bigint, lease_token uuid, status_code integer, error_class text, error_code integer,
      is_transient boolean, wamid text
    )) with ordinality as r(message_id, lease_token, status_code, error_class, error_code, is_transient, wamid, n)
    -- The outbox by key (= any: an index scan whatever the plan's guess of the results' count).
    left join hookline.outbox o on o.message_id = r.message_id and o.message_id = any (v_ids)
    order by r.message_id, (o.state = 'sending' and o.lease_token = r.lease_token) is true desc, r.n
  ) c;

  -- Successes, one statement for the batch; after throttling, each success gives one message
  -- per second of the number's rate back. The senders by key beside the join (`= any`): a
  -- plan made on drained or empty statistics joined them by reading every sender (10,009 rows
  -- a call at 10,000 numbers).
  with sent as (
    update hookline.outbox o
    set state = 'sent', wamid = x.wamid, sent_at = complete_messages.now, lease_token = null, runner = null,
      next_attempt_at = null, attempt_count = o.attempt_count + 1
    from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_outcomes), pg_catalog.unnest(v_wamids))
      as x(message_id, outcome, wamid)
    where x.outcome = 'sent' and o.message_id = x.message_id and o.message_id = any (v_ids)
    returning o.phone_number_id
  )
  update hookline.senders s
  set throttled_rate = case when s.throttled_rate + x.n >= s.messages_per_second then null else s.throttled_rate + x.n end
  from (select sent.phone_number_id, pg_catalog.count(*)::integer as n from sent group by 1) x
  where s.phone_number_id = x.phone_number_id and s.phone_number_id = any (v_phones) and s.throttled_rate is not null;

  -- The numbers' breakers count the batch's successes in one call (hookline._breaker_results
  -- has the policy; a breaker with nothing to count is not touched).
  select pg_catalog.array_agg('sender:' || o.phone_number_id order by x.message_id),
    pg_catalog.array_agg(true order by x.message_id)
  into v_targets, v_successes
  from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_outcomes)) as x(message_id, outcome)
  join hookline.outbox o on o.message_id = x.message_id and o.message_id = any (v_ids)
  where x.outcome = 'sent';
  if v_targets is not null then
    perform hookline._breaker_results(v_targets, v_successes, complete_messages.now);
  end if;

  -- Failures, by class, in one call for the batch (hookline._message_outcomes): the error
  -- title and fbtrace_id go to last_error; each outcome is the message's new state.
  select pg_catalog.array_agg(x.message_id order by x.message_id), pg_catalog.array_agg(x.outcome order by x.message_id),
    pg_catalog.array_agg(r.error_code order by x.message_id),
    pg_catalog.array_agg(coalesce(r.error_title, case when r.status_code is not null then 'HTTP ' || r.status_code else r.error_class end)
                         || coalesce(' (fbtrace_id ' || r.fbtrace_id || ')', '') order by x.message_id),
    pg_catalog.array_agg(r.retry_after_s order by x.message_id)
  into v_failed, v_failed_classes, v_failed_codes, v_failed_details, v_failed_waits
  from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_outcomes), pg_catalog.unnest(v_ns))
    as x(message_id, outcome, n)
  join rows from (pg_catalog.jsonb_to_recordset(complete_messages.results) as (
      message_id bigint, status_code integer, error_class text, error_code integer, error_title text,
      fbtrace_id text, retry_after_s double precision
    )) with ordinality as r(message_id, status_code, error_class, error_code, error_title, fbtrace_id, retry_after_s, n)
    on r.n = x.n
  where x.outcome not in ('sent', 'stale');
  if v_failed is not null then
    -- Its own statement: a function with side effects in a join runs only when the join
    -- reads it.
    select pg_catalog.array_agg(m.message_id order by m.message_id), pg_catalog.array_agg(m.state::text order by m.message_id)
    into v_failed, v_failed_states
    from hookline._message_outcomes(v_failed, v_failed_classes, v_failed_codes, v_failed_details, v_failed_waits,
                                    complete_messages.now) m;
    v_outcomes := array(
      select coalesce(m.state, x.outcome)
      from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_outcomes)) with ordinality as x(message_id, outcome, i)
      left join rows from (pg_catalog.unnest(v_failed), pg_catalog.unnest(v_failed_states)) as m(message_id, state)
        on m.message_id = x.message_id
      order by x.i
    );
  end if;

  return query
  select x.message_id, coalesce(x.outcome, 'unknown'), o.next_attempt_at
  from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_outcomes)) as x(message_id, outcome)
  left join hookline.outbox o on o.message_id = x.message_id and o.message_id = any (v_ids)
  order by x.message_id;
end
$$;

comment on function hookline.complete_messages(jsonb, timestamptz) is
  'Records a batch of Graph API answers [{message_id, lease_token, status_code, error_class (timeout, network, connect), error_code, is_transient, error_title, fbtrace_id, wamid, retry_after_s, duration_ms}] and moves each message on: a 2xx with a wamid is sent; a timeout, a lost connection or a 2xx without wamid is ambiguous (unconfirmed); a refused connection and a 5xx without code are transient; otherwise error.code decides through hookline.graph_error_codes (never the HTTP status, which is used only without a code). The error title and fbtrace_id go to last_error. A result whose lease is no longer current changes nothing. Returns (message_id, outcome, next_attempt_at); outcome is the new state, stale or unknown. Errors: HL064 malformed result.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.complete_messages(jsonb,timestamp with time zone) from public;
grant execute on function hookline.complete_messages(jsonb,timestamp with time zone) to hookline_runner;
