create or replace function hookline.next_message_due(now timestamptz default pg_catalog.now())
returns timestamptz
language sql
stable
set search_path = ''
security definer
as $$
  select pg_catalog.min(greatest(
    x.next_attempt_at,
    s.throttled_until,
    case when b.state = 'open' then b.open_until end,
    w.last_claimed_at + interval '1 second'
  ))
  from hookline.senders s
  cross join lateral (
    select o.next_attempt_at
    from hookline.outbox o
    where o.phone_number_id = s.phone_number_id and o.next_attempt_at is not null
    order by o.next_attempt_at
    limit 1
  ) x
  -- A full last second: the number's limit-th most recent claim must leave it first.
  left join lateral (
    select o.last_claimed_at
    from hookline.outbox o
    where o.phone_number_id = s.phone_number_id
      and o.last_claimed_at > next_message_due.now - interval '1 second'
    order by o.last_claimed_at desc
    offset coalesce(s.throttled_rate, s.messages_per_second) - 1
    limit 1
  ) w on true
  left join hookline.circuit_breakers b on b.target = 'sender:' || s.phone_number_id
  where s.state = 'active' and not (b.state = 'open' and b.is_forced) is true
$$;

comment on function hookline.next_message_due(timestamptz) is
  'When the next outbox message of an active sender may become claimable: its retry time or lease expiry, pushed back by the sender''s throttle, an open breaker''s cool-down and a full last second of claims; null when nothing is queued. May be in the past (e.g. a message held back by the pair limit). Errors: none.';

-- SECURITY DEFINER: runners have no table privileges; they send the outbox only through this function.
revoke all on function hookline.next_message_due(timestamp with time zone) from public;
grant execute on function hookline.next_message_due(timestamp with time zone) to hookline_runner;
