-- It replaces hookline._message_outcome, which applied one failure at a time (a PL/pgSQL call
-- per failed message: five times a success's cost in an outage of the Graph API). hookline db
-- deploy drops a function whose file is gone; psql -f functions/index.sql does not.
drop function if exists hookline._message_outcome(bigint, text, integer, text, double precision, timestamptz);
-- And hookline._breaker_record, which fed it one result at a time to a breaker.
drop function if exists hookline._breaker_record(text, boolean, timestamptz);

create or replace function hookline._message_outcomes(
  message_ids bigint[],
  error_classes text[],
  error_codes integer[],
  details text[],
  retry_after_s double precision[],
  now timestamptz
)
returns table (message_id bigint, state hookline.outbox_state, next_attempt_at timestamptz)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_bad text;
  v_ids bigint[];
  v_states hookline.outbox_state[];
  v_phones text[];
  v_recipients text[];
  v_classes text[];
  v_waits timestamptz[];  -- per message: its wait before the send window's floor (below)
  v_errors text[];
  v_targets text[];
  v_trip record;
begin
  -- One place decides what a failure means, for a batch of send answers (complete_messages)
  -- and for a group's failed status webhooks (receive_many) alike: element i of every array is
  -- failure i, of a distinct message. The callers hold the messages' row locks, and their
  -- senders' and breakers' (the lock order of docs/outbound.md), and, for a pair-limit answer,
  -- the recipient's other live messages (hookline._pair_messages). Set-based: one statement
  -- per table for the whole batch, whatever its classes.
  select u.error_class into v_bad
  from pg_catalog.unnest(_message_outcomes.error_classes) as u(error_class)
  where u.error_class is null or u.error_class not in ('permanent_message', 'permanent_recipient', 'transient', 'unknown',
    'ambiguous', 'sender_throttle', 'maintenance', 'recipient_throttle', 'account')
  limit 1;
  if found then
    raise exception using errcode = 'HL064', message = format('unknown error class %L', v_bad);
  end if;

  -- Each message's outcome by its class, in one update:
  -- - permanent_message, permanent_recipient: failed;
  -- - transient and unknown: queued again after the sender's retry_schedule[attempt] (plus up
  --   to 20 % jitter), dead past its end (unknown: after 3 attempts); ambiguous (the request may
  --   have arrived): unconfirmed for the sender's unconfirmed_wait, waiting for a status
  --   webhook carrying its outbox id, dead past the schedule's end as well;
  -- - sender_throttle, maintenance: queued after Retry-After, else the code's delay, else a
  --   second; the whole number waits as long (below), and after throttling sends slower. Not a
  --   failed attempt;
  -- - recipient_throttle: queued after 4^(n-1) s (Meta: 4^X), n its pair-limit answers; dead
  --   after 8. The recipient's other queued messages wait with it (below). Never the breaker;
  -- - account: queued, due at once; the number is paused and its breaker opened (below): every
  --   send of the number would fail alike, the message is not blamed.
  -- The error: the class, the code and the title, never the message text or the recipient,
  -- long digit runs masked. A retry is never due within the send window of its last claim
  -- (1 s + m, hookline._sender_window): a number's sends are counted through each message's
  -- last_claimed_at (claim_messages), so a retry claimed sooner would erase its first send
  -- from the window and let one more through.
  with failure as materialized (
    select u.message_id, u.error_class, u.error_code, o.phone_number_id, o.recipient, o.last_claimed_at,
      o.attempt_count + case when u.error_class in ('transient', 'unknown', 'ambiguous', 'permanent_message', 'permanent_recipient')
                             then 1 else 0 end as attempt,
      o.throttle_count + case when u.error_class = 'recipient_throttle' then 1 else 0 end as throttles,
      pg_catalog.left(pg_catalog.regexp_replace(
        pg_catalog.concat_ws(': ', u.error_class, 'code ' || u.error_code, u.detail), '[0-9]{7,}', '*******', 'g'), 300) as error,
      coalesce(pg_catalog.make_interval(secs => least(greatest(u.retry_after_s, 1), 86400)), g.retry_delay, interval '1 second') as delay,
      s.retry_schedule, s.unconfirmed_wait,
      pg_catalog.random() as jitter
    from rows from (pg_catalog.unnest(_message_outcomes.message_ids), pg_catalog.unnest(_message_outcomes.error_classes),
                    pg_catalog.unnest(_message_outcomes.error_codes), pg_catalog.unnest(_message_outcomes.details),
                    pg_catalog.unnest(_message_outcomes.retry_after_s))
      as u(message_id, error_class, error_code, detail, retry_after_s)
    -- Each message by a probe of its key (a lateral with a LIMIT, never a join): as a join on
    -- `message_id = any (ids)`, a plan made on a drained outbox (statistics of 0 pages) read
    -- outbox_pair_idx whole, for its order by number (the join to senders), in each failure.
    cross join lateral (
      select o.phone_number_id, o.recipient, o.last_claimed_at, o.attempt_count, o.throttle_count
      from hookline.outbox o
      where o.message_id = u.message_id
      limit 1
    ) o
    -- Each message's number by a probe of its key too: joined, a plan made while the senders
    -- were few read their primary key from its start in a merge join, every number sorting
    -- before the batch's (a platform's 10,000 numbers, for a number that sorts last).
    cross join lateral (
      select s.retry_schedule, s.unconfirmed_wait
      from hookline.senders s
      where s.phone_number_id = o.phone_number_id
      limit 1
    ) s
    left join lateral (
      select g.retry_delay
      from hookline.graph_error_codes g
      where u.error_code between g.code_from and g.code_to
      order by g.code_to - g.code_from
      limit 1
    ) g on true
  ),
  decided as (
    select f.*,
      case
        when f.error_class in ('permanent_message', 'permanent_recipient') then 'failed'
        when f.error_class in ('transient', 'unknown', 'ambiguous')
             and (f.attempt > pg_catalog.cardinality(f.retry_schedule) or (f.error_class = 'unknown' and f.attempt >= 3)) then 'dead'
        when f.error_class = 'ambiguous' then 'unconfirmed'
        when f.error_class = 'recipient_throttle' and f.throttles > 8 then 'dead'
        else 'queued'
      end::hookline.outbox_state as new_state
    from failure f
  ),
  timed as (
    select d.*,
      case
        when d.new_state in ('failed', 'dead') then null
        when d.error_class = 'ambiguous' then _message_outcomes.now + d.unconfirmed_wait
        when d.error_class in ('transient', 'unknown') then _message_outcomes.now + d.retry_schedule[d.attempt] * (1 + d.jitter * 0.2)
        when d.error_class in ('sender_throttle', 'maintenance') then _message_outcomes.now + d.delay
        when d.error_class = 'recipient_throttle' then _message_outcomes.now + pg_catalog.make_interval(secs => 4 ^ (d.throttles - 1))
        else _message_outcomes.now  -- account
      end as wait_until,
      case
        when d.new_state = 'dead' and d.error_class = 'recipient_throttle'
          then format('pair rate limit answered %s times; last: %s', d.throttles, d.error)
        when d.new_state = 'dead' then format('retries exhausted after %s attempts; last: %s', d.attempt, d.error)
        else d.error
      end as last_error
    from decided d
  ),
  updated as (
    update hookline.outbox o
    set state = t.new_state, lease_token = null, runner = null,
      next_attempt_at = case when t.wait_until is not null
                             then greatest(t.wait_until, t.last_claimed_at + interval '1 second' + hookline._send_margin()) end,
      attempt_count = t.attempt, throttle_count = t.throttles,
      last_error_code = t.error_code, last_error = t.last_error,
      finished_at = case when t.new_state in ('failed', 'dead') then _message_outcomes.now end
    from timed t
    where o.message_id = t.message_id and o.message_id = any (_message_outcomes.message_ids)
    returning o.message_id, o.state, t.phone_number_id, t.recipient, t.error_class, t.wait_until, t.error
  )
  select pg_catalog.array_agg(x.message_id order by x.message_id), pg_catalog.array_agg(x.state order by x.message_id),
    pg_catalog.array_agg(x.phone_number_id order by x.message_id),
    pg_catalog.array_agg(x.recipient order by x.message_id), pg_catalog.array_agg(x.error_class order by x.message_id),
    pg_catalog.array_agg(x.wait_until order by x.message_id), pg_catalog.array_agg(x.error order by x.message_id)
  into v_ids, v_states, v_phones, v_recipients, v_classes, v_waits, v_errors
  from updated x;

  -- A failed attempt counts against the number's breaker (transient, unknown, ambiguous): one
  -- call for the batch, in message order (hookline._breaker_results has the policy).
  select pg_catalog.array_agg('sender:' || x.phone_number_id order by x.message_id)
  into v_targets
  from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_phones), pg_catalog.unnest(v_classes))
    as x(message_id, phone_number_id, error_class)
  where x.error_class in ('transient', 'unknown', 'ambiguous');
  if v_targets is not null then
    perform hookline._breaker_results(v_targets, pg_catalog.array_fill(false, array[pg_catalog.cardinality(v_targets)]),
                                      _message_outcomes.now);
  end if;

  -- The numbers: a throttle or maintenance answer makes the whole number wait as long as its
  -- message (the longest of the batch's), and each throttle answer halves its rate (once per
  -- answer, to 1 at least); an account answer pauses it (the reason: the batch's first).
  -- The senders by key beside the join, as complete_messages' update of them.
  update hookline.senders s
  set throttled_until = case when n.wait_until is not null then greatest(s.throttled_until, n.wait_until) else s.throttled_until end,
    throttled_rate = case when n.halvings > 0
                          then greatest(1, coalesce(s.throttled_rate, s.messages_per_second) >> least(n.halvings, 30)) else s.throttled_rate end,
    state = case when n.account_error is not null then 'paused' else s.state end,
    paused_reason = case when n.account_error is not null
                         then format('account or auth error at %s: %s', _message_outcomes.now, n.account_error) else s.paused_reason end,
    updated_at = case when n.account_error is not null then _message_outcomes.now else s.updated_at end
  from (
    select x.phone_number_id,
      pg_catalog.max(x.wait_until) filter (where x.error_class in ('sender_throttle', 'maintenance')) as wait_until,
      (pg_catalog.count(*) filter (where x.error_class = 'sender_throttle'))::integer as halvings,
      (pg_catalog.array_agg(x.error order by x.message_id) filter (where x.error_class = 'account'))[1] as account_error
    from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_phones), pg_catalog.unnest(v_classes),
                    pg_catalog.unnest(v_waits), pg_catalog.unnest(v_errors))
      as x(message_id, phone_number_id, error_class, wait_until, error)
    where x.error_class in ('sender_throttle', 'maintenance', 'account')
    group by x.phone_number_id
  ) n
  where s.phone_number_id = n.phone_number_id and s.phone_number_id = any (v_phones);
  -- An account answer opens the number's breaker for its longest cool-down: one call per
  -- number (rare; a breaker already open stays as it is).
  for v_trip in
    select x.phone_number_id, (pg_catalog.array_agg(x.error order by x.message_id))[1] as error
    from rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_phones), pg_catalog.unnest(v_classes), pg_catalog.unnest(v_errors))
      as x(message_id, phone_number_id, error_class, error)
    where x.error_class = 'account'
    group by x.phone_number_id
    order by x.phone_number_id
  loop
    perform hookline._breaker_trip('sender:' || v_trip.phone_number_id, v_trip.error, _message_outcomes.now);
  end loop;

  -- A pair-limit answer: the recipient's other queued messages wait with it, so that their
  -- order holds (until the latest wait of the batch's answers for that recipient, the
  -- answered messages included: one answered with a shorter wait does not overtake one
  -- answered with a longer). The callers lock those messages with their own, sorted
  -- (docs/outbound.md, "Lock order"), so none is skipped here. SKIP LOCKED stays for a caller
  -- that did not: waiting here, a complete holding this message deadlocked with a status group
  -- that held the other message and waited for this one.
  update hookline.outbox o
  set next_attempt_at = q.wait_until
  from (
    select q.message_id, r.wait_until
    from (
      select x.phone_number_id, x.recipient, pg_catalog.max(x.wait_until) as wait_until
      from rows from (pg_catalog.unnest(v_phones), pg_catalog.unnest(v_recipients), pg_catalog.unnest(v_classes),
                      pg_catalog.unnest(v_states), pg_catalog.unnest(v_waits))
        as x(phone_number_id, recipient, error_class, state, wait_until)
      where x.error_class = 'recipient_throttle' and x.state = 'queued'
      group by x.phone_number_id, x.recipient
    ) r
    cross join lateral (
      select q.message_id
      from hookline.outbox q
      where q.phone_number_id = r.phone_number_id and q.recipient = r.recipient
        and q.state = 'queued' and q.next_attempt_at < r.wait_until
      for update skip locked
    ) q
  ) q
  where o.message_id = q.message_id;

  return query
  select x.message_id, o.state, o.next_attempt_at
  from pg_catalog.unnest(v_ids) as x(message_id)
  join hookline.outbox o on o.message_id = x.message_id and o.message_id = any (v_ids)
  order by x.message_id;
end
$$;

comment on function hookline._message_outcomes(bigint[], text[], integer[], text[], double precision[], timestamptz) is
  'Private. Applies a batch of failures, element i of each array being failure i of a distinct outbox message the caller has locked, by class: permanent_message and permanent_recipient fail it; transient and unknown retry on the sender''s schedule (unknown at most 3 attempts) and count against the breaker; ambiguous waits unconfirmed_wait for a status webhook before a retry; sender_throttle and maintenance delay the whole number (Retry-After, else the code''s delay) without counting an attempt, throttling also halves its rate; recipient_throttle delays that recipient''s queued messages by 4^(n-1) s; account pauses the sender and opens its breaker, the message waiting queued. A retry is never due within a second of the message''s last claim (the number''s rate counts each message''s latest claim). Set-based: one statement per table for the batch. Returns (message_id, state, next_attempt_at) per message in message order. Errors: HL064 unknown class.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._message_outcomes(bigint[], text[], integer[], text[], double precision[], timestamp with time zone) from public;
