create or replace function hookline._message_outcome(
  message_id bigint,
  error_class text,
  error_code integer,
  detail text,
  retry_after_s double precision,
  now timestamptz
)
returns table (state hookline.outbox_state, next_attempt_at timestamptz)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_m hookline.outbox;
  v_s hookline.senders;
  v_attempt integer;
  v_state hookline.outbox_state;
  v_next timestamptz;
  v_error text;
  v_delay interval;
  v_throttles integer;
begin
  -- The caller holds the message's row lock. One place decides what a failure means, for a
  -- send's answer (complete_messages) and for a failed status webhook alike.
  select o.* into strict v_m from hookline.outbox o where o.message_id = _message_outcome.message_id;
  select s.* into strict v_s from hookline.senders s where s.phone_number_id = v_m.phone_number_id;
  v_attempt := v_m.attempt_count + case when _message_outcome.error_class in
    ('transient', 'unknown', 'ambiguous', 'permanent_message', 'permanent_recipient') then 1 else 0 end;
  v_throttles := v_m.throttle_count;
  -- Never the message text or the recipient: the class, the code and the title, long digit runs masked.
  v_error := pg_catalog.left(pg_catalog.regexp_replace(
    pg_catalog.concat_ws(': ', _message_outcome.error_class, 'code ' || _message_outcome.error_code, _message_outcome.detail),
    '[0-9]{7,}', '*******', 'g'), 300);
  select g.retry_delay into v_delay from hookline.graph_error_codes g
  where _message_outcome.error_code between g.code_from and g.code_to
  order by g.code_to - g.code_from limit 1;
  v_delay := coalesce(
    pg_catalog.make_interval(secs => least(greatest(_message_outcome.retry_after_s, 1), 86400)),
    v_delay, interval '1 second');

  if _message_outcome.error_class in ('permanent_message', 'permanent_recipient') then
    v_state := 'failed';
  elsif _message_outcome.error_class in ('transient', 'unknown', 'ambiguous') then
    perform hookline._breaker_record('sender:' || v_s.phone_number_id, false, _message_outcome.now);
    if v_attempt > pg_catalog.cardinality(v_s.retry_schedule)
       or (_message_outcome.error_class = 'unknown' and v_attempt >= 3) then
      v_state := 'dead';
      v_error := format('retries exhausted after %s attempts; last: %s', v_attempt, v_error);
    elsif _message_outcome.error_class = 'ambiguous' then
      -- It may have gone: wait for a status webhook carrying its outbox id before sending again.
      v_state := 'unconfirmed';
      v_next := _message_outcome.now + v_s.unconfirmed_wait;
    else
      v_state := 'queued';
      v_next := _message_outcome.now + v_s.retry_schedule[v_attempt] * (1 + pg_catalog.random() * 0.2);
    end if;
  elsif _message_outcome.error_class in ('sender_throttle', 'maintenance') then
    -- The whole number waits (and after throttling sends slower); not a failed attempt.
    v_state := 'queued';
    v_next := _message_outcome.now + v_delay;
    update hookline.senders s
    set throttled_until = greatest(s.throttled_until, v_next),
      throttled_rate = case when _message_outcome.error_class = 'sender_throttle'
                            then greatest(1, coalesce(s.throttled_rate, s.messages_per_second) / 2)
                            else s.throttled_rate end
    where s.phone_number_id = v_s.phone_number_id;
  elsif _message_outcome.error_class = 'recipient_throttle' then
    -- Only this recipient waits: 1, 4, 16, 64 ... seconds (Meta: 4^X), and its other queued
    -- messages wait with it so that their order holds. Never the number's breaker.
    -- The callers (complete_messages, the status groups of receive_many) lock those messages
    -- at their top with their own, sorted (docs/outbound.md, "Lock order"), so none is skipped
    -- here. Skip locked stays for a caller that did not: waiting here, a complete holding this
    -- message deadlocked with a status group that held the other message and waited for this
    -- one; skipped, a later message kept its earlier due time and could overtake this one.
    v_throttles := v_throttles + 1;
    if v_throttles > 8 then
      v_state := 'dead';
      v_error := format('pair rate limit answered %s times; last: %s', v_throttles, v_error);
    else
      v_state := 'queued';
      v_next := _message_outcome.now + pg_catalog.make_interval(secs => 4 ^ (v_throttles - 1));
      update hookline.outbox o
      set next_attempt_at = v_next
      where o.message_id in (
        select q.message_id from hookline.outbox q
        where q.phone_number_id = v_m.phone_number_id and q.recipient = v_m.recipient
          and q.state = 'queued' and q.next_attempt_at < v_next and q.message_id <> v_m.message_id
        for update skip locked);
    end if;
  elsif _message_outcome.error_class = 'account' then
    -- Every send of the number would fail alike: pause it, open its breaker, wait for a human.
    -- The message is not blamed: it goes out when the number is resumed.
    v_state := 'queued';
    v_next := _message_outcome.now;
    update hookline.senders s
    set state = 'paused', paused_reason = format('account or auth error at %s: %s', _message_outcome.now, v_error),
      updated_at = _message_outcome.now
    where s.phone_number_id = v_s.phone_number_id;
    perform hookline._breaker_trip('sender:' || v_s.phone_number_id, v_error, _message_outcome.now);
  else
    raise exception using errcode = 'HL064', message = format('unknown error class %L', _message_outcome.error_class);
  end if;

  -- Never again within the send window of its last claim (1 s + m, hookline._sender_window): a
  -- number's sends are counted through each message's last_claimed_at (claim_messages), so a
  -- retry claimed sooner would erase its first send from the window and let one more through.
  if v_next is not null then
    v_next := greatest(v_next, v_m.last_claimed_at + interval '1 second' + hookline._send_margin());
  end if;

  update hookline.outbox o
  set state = v_state, lease_token = null, runner = null, next_attempt_at = v_next,
    attempt_count = v_attempt, throttle_count = v_throttles,
    last_error_code = _message_outcome.error_code, last_error = v_error,
    finished_at = case when v_state in ('failed', 'dead') then _message_outcome.now end
  where o.message_id = v_m.message_id;
  return query select v_state, v_next;
end
$$;

comment on function hookline._message_outcome(bigint, text, integer, text, double precision, timestamptz) is
  'Private. Applies a failed send to a locked outbox message by class: permanent_message and permanent_recipient fail it; transient and unknown retry on the sender''s schedule (unknown at most 3 attempts) and count against the breaker; ambiguous waits unconfirmed_wait for a status webhook before a retry; sender_throttle and maintenance delay the whole number (Retry-After, else the code''s delay) without counting an attempt, throttling also halves its rate; recipient_throttle delays only that recipient by 4^(n-1) s; account pauses the sender and opens its breaker, the message waiting queued. A retry is never due within a second of the message''s last claim (the number''s rate counts each message''s latest claim). Errors: HL064 unknown class.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._message_outcome(bigint,text,integer,text,double precision,timestamp with time zone) from public;
