-- A number's send window, one definition for claim_messages and next_message_due (which says
-- when a full number has room again): its claims in the window (now - 1 s - m, now], m the send
-- margin (hookline._send_margin), counted up to its limit, and its unexpired leases (what a
-- half-open breaker's probes are counted against). Plain SQL, no SET clause, one statement: the
-- planner inlines it into the caller's statement, which keeps its settings (no sequential or
-- bitmap scan, a generic plan); the claims are read backwards from outbox_claimed_idx (at most
-- rate_limit entries), the leases from an index of the number's live messages, and only when
-- the caller reads them (an unread column's subquery is left out of the plan; the claims' read
-- is always made, at most rate_limit entries).
create or replace function hookline._sender_window(phone_number_id text, rate_limit integer, now timestamptz)
returns table (used integer, room_at timestamptz, leases integer)
language sql
stable
as $$
  select w.used::integer,
    -- Full: room again when the oldest of the limit's most recent claims leaves the window.
    case when w.used >= _sender_window.rate_limit
         then w.oldest + interval '1 second' + hookline._send_margin() end,
    -- The leases from outbox_sending_idx (the messages in flight), not from outbox_due_idx,
    -- where every message deferred into the future lies between them.
    (select pg_catalog.count(*)::integer from hookline.outbox o
     where o.phone_number_id = _sender_window.phone_number_id and o.state = 'sending'
       and o.next_attempt_at > _sender_window.now)
  from (
    select pg_catalog.count(*) as used, pg_catalog.min(c.last_claimed_at) as oldest
    from (
      select o.last_claimed_at
      from hookline.outbox o
      where o.phone_number_id = _sender_window.phone_number_id
        and o.last_claimed_at > _sender_window.now - interval '1 second' - hookline._send_margin()
      order by o.last_claimed_at desc
      limit _sender_window.rate_limit
    ) c
  ) w
$$;

comment on function hookline._sender_window(text, integer, timestamptz) is
  'Inlinable (no SET clause), private, for claim_messages and next_message_due: a number''s claims in the window (now - 1 s - m, now], m = hookline._send_margin(), counted up to rate_limit (used); when used reaches rate_limit, the time the window has room again (room_at, else null); and the number''s unexpired leases (messages sending whose lease ends after now). Reads the outbox; locks nothing. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._sender_window(text, integer, timestamptz) from public;
