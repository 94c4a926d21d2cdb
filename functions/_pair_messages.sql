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
  select q.message_id
  from (select distinct o.phone_number_id, o.recipient from hookline.outbox o
        where o.message_id = any (_pair_messages.message_ids)) p
  join hookline.outbox q on q.phone_number_id = p.phone_number_id and q.recipient = p.recipient
  where q.state in ('queued', 'sending')
$$;

comment on function hookline._pair_messages(bigint[]) is
  'Inlinable (no SET clause), private, for complete_messages and receive_many: the queued and sending messages of the recipients of the given messages, each of its own number (the messages a pair-limit answer, 131056, defers with the answered one), answered ones included when still queued or sending; ids that are not messages add nothing. Reads the outbox; locks nothing. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._pair_messages(bigint[]) from public;
