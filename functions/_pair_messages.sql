-- The messages a pair-limit answer (131056) defers with the answered one, one definition for
-- complete_messages and receive_many's status groups, which lock them at their top with their
-- own (docs/outbound.md, "Lock order"): the answered messages' recipients' queued and in-flight
-- messages, of the same number. Plain SQL, no SET clause, one statement: the planner inlines
-- it into the caller's statement, which keeps its settings (no sequential or bitmap scan, a
-- generic plan). What stays with each caller: which of its answers are pair-limit answers.
create or replace function hookline._pair_messages(message_ids bigint[])
returns setof bigint
language sql
stable
as $$
  -- Each given message by key, and each of its recipients' live messages: probes in lateral
  -- subqueries that the planner cannot turn into joins (a LIMIT, an OFFSET 0). As joins, a plan
  -- made while the outbox was empty read outbox_pair_idx whole, in (number, recipient) order
  -- for a merge join, to find the given ids: every message ever sent, in each complete of a
  -- pair-limit answer. Queued and sending messages always have a next_attempt_at
  -- (outbox_due_iff_waiting): saying so lets outbox_live_recipient_idx serve the second probe,
  -- the recipient's live messages, not its whole history.
  select q.message_id
  from (
    select distinct a.phone_number_id, a.recipient
    from pg_catalog.unnest(_pair_messages.message_ids) as u(message_id)
    cross join lateral (
      select o.phone_number_id, o.recipient
      from hookline.outbox o
      where o.message_id = u.message_id
      limit 1
    ) a
  ) p
  cross join lateral (
    select q.message_id
    from hookline.outbox q
    where q.phone_number_id = p.phone_number_id and q.recipient = p.recipient
      and q.next_attempt_at is not null and q.state in ('queued', 'sending')
    offset 0
  ) q
$$;

comment on function hookline._pair_messages(bigint[]) is
  'Inlinable (no SET clause), private, for complete_messages and receive_many: the queued and sending messages of the recipients of the given messages, each of its own number (the messages a pair-limit answer, 131056, defers with the answered one), answered ones included when still queued or sending; ids that are not messages add nothing. Reads the outbox; locks nothing. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._pair_messages(bigint[]) from public;
