create or replace function hookline.complete_messages(results jsonb, now timestamptz default pg_catalog.now())
returns table (message_id bigint, outcome text, next_attempt_at timestamptz)
language plpgsql
set search_path = ''
security definer
as $$
#variable_conflict use_column
declare
  v_r record;
  v_m hookline.outbox;
  v_class text;
  v_state hookline.outbox_state;
  v_next timestamptz;
begin
  if complete_messages.results is null or pg_catalog.jsonb_typeof(complete_messages.results) <> 'array'
     or complete_messages.now is null then
    raise exception using errcode = 'HL064', message = 'complete_messages needs a JSON array of results';
  end if;

  for v_r in
    select r.*
    from pg_catalog.jsonb_to_recordset(complete_messages.results) as r(
      message_id bigint, lease_token uuid, status_code integer, error_class text, error_code integer,
      is_transient boolean, error_title text, fbtrace_id text, wamid text, retry_after_s double precision,
      duration_ms integer
    )
    order by r.message_id
  loop
    if v_r.message_id is null or v_r.lease_token is null
       or (v_r.status_code is null and v_r.error_class is null)
       or v_r.status_code not between 100 and 999
       or v_r.error_class not in ('timeout', 'network', 'connect') then
      raise exception using
        errcode = 'HL064',
        message = 'each result needs message_id, lease_token, and a status_code (100-999) or an error_class (timeout, network, connect)',
        detail = format('result for message %s', v_r.message_id);
    end if;

    -- Guarded compare-and-set: only the holder of the current lease moves the state; a late
    -- result (lease expired, or a status webhook got there first) changes nothing.
    select o.* into v_m from hookline.outbox o where o.message_id = v_r.message_id for update;
    if not found or v_m.state <> 'sending' or v_m.lease_token <> v_r.lease_token then
      return query select v_r.message_id, case when found then 'stale' else 'unknown' end, v_m.next_attempt_at;
      continue;
    end if;

    v_class := case
      when v_r.status_code between 200 and 299 and coalesce(v_r.wamid, '') <> '' then 'success'
      when v_r.status_code between 200 and 299 then 'ambiguous'  -- accepted, but no wamid came back
      when v_r.error_class in ('timeout', 'network') then 'ambiguous'  -- the request may have arrived
      when v_r.error_class = 'connect' then 'transient'  -- nothing was sent
      when v_r.error_code is not null then hookline._graph_error_class(v_r.error_code, coalesce(v_r.is_transient, false))
      when v_r.status_code >= 500 then 'transient'
      when v_r.status_code = 429 then 'sender_throttle'
      else 'permanent_message'
    end;

    if v_class = 'success' then
      update hookline.outbox o
      set state = 'sent', wamid = v_r.wamid, sent_at = complete_messages.now, lease_token = null, runner = null,
        next_attempt_at = null, attempt_count = o.attempt_count + 1
      where o.message_id = v_m.message_id;
      perform hookline._breaker_record('sender:' || v_m.phone_number_id, true, complete_messages.now);
      -- After throttling, each success gives one message per second of the rate back.
      update hookline.senders s
      set throttled_rate = case when s.throttled_rate + 1 >= s.messages_per_second then null else s.throttled_rate + 1 end
      where s.phone_number_id = v_m.phone_number_id and s.throttled_rate is not null;
      return query select v_m.message_id, 'sent'::text, null::timestamptz;
      continue;
    end if;

    select x.state, x.next_attempt_at into v_state, v_next
    from hookline._message_outcome(v_m.message_id, v_class, v_r.error_code,
      coalesce(v_r.error_title, case when v_r.status_code is not null then 'HTTP ' || v_r.status_code else v_r.error_class end)
        || coalesce(' (fbtrace_id ' || v_r.fbtrace_id || ')', ''),
      v_r.retry_after_s, complete_messages.now) x;
    return query select v_m.message_id, v_state::text, v_next;
  end loop;
end
$$;

comment on function hookline.complete_messages(jsonb, timestamptz) is
  'Records a batch of Graph API answers [{message_id, lease_token, status_code, error_class (timeout, network, connect), error_code, is_transient, error_title, fbtrace_id, wamid, retry_after_s, duration_ms}] and moves each message on: a 2xx with a wamid is sent; a timeout, a lost connection or a 2xx without wamid is ambiguous (unconfirmed); a refused connection and a 5xx without code are transient; otherwise error.code decides through hookline.graph_error_codes (never the HTTP status, which is used only without a code). The error title and fbtrace_id go to last_error. A result whose lease is no longer current changes nothing. Returns (message_id, outcome, next_attempt_at); outcome is the new state, stale or unknown. Errors: HL064 malformed result.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.complete_messages(jsonb,timestamp with time zone) from public;
grant execute on function hookline.complete_messages(jsonb,timestamp with time zone) to hookline_runner;
