create or replace function hookline._live_numbers()
returns table (phone_number_id text, first_due timestamptz)
language sql
stable
-- No SET clause, so the planner inlines it into its callers' statements (a SET would forbid
-- that); every name is schema-qualified instead.
as $$
  -- A skip scan of outbox_due_idx, whose entries are the live messages (next_attempt_at not
  -- null: queued, sending, unconfirmed) by number and due time: one probe per number that has
  -- any, which finds the number and its first due time together, in number order, and none
  -- for the numbers without. So a claim beside 10,000 idle numbers (a platform's registered
  -- numbers, most of them quiet) costs what it costs beside none; probing each active sender's
  -- first message cost about a microsecond per number, 9 ms a claim at 10,000
  -- (docs/performance.md, "The outbox's claim beside idle numbers"). From the number before
  -- every number ('': a phone number id is digits), each step reads the first entry after the
  -- last number found.
  with recursive live(phone_number_id, first_due) as (
    select ''::text, null::timestamptz
    union all
    select n.phone_number_id, n.next_attempt_at
    from live l
    cross join lateral (
      select o.phone_number_id, o.next_attempt_at
      from hookline.outbox o
      where o.next_attempt_at is not null and o.phone_number_id > l.phone_number_id
      order by o.phone_number_id, o.next_attempt_at
      limit 1
    ) n
  )
  select l.phone_number_id, l.first_due from live l where l.phone_number_id <> ''
$$;

comment on function hookline._live_numbers() is
  'Inlinable, private, for claim_messages and next_message_due: the phone numbers with a live outbox message (next_attempt_at not null: queued, sending or unconfirmed), each once, in order, with its earliest next_attempt_at (first_due: due when not after now), found by a skip scan of outbox_due_idx (one index probe per such number; idle numbers are not read). Locks nothing. Errors: none of its own.';

revoke all on function hookline._live_numbers() from public;
