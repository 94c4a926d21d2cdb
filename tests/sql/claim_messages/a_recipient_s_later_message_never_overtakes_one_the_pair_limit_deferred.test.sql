begin;
select plan(4);

-- Found by benchmarks/outbox_ledger.py (1,720 pairs of a repeated recipient's messages sent out
-- of their commit order in a 15,000-message run). The pair limit looks at a bounded prefix of
-- the due messages and defers the ones it holds back to when their recipient may be sent to
-- again; a later message of the same recipient beyond the prefix kept its own due time, earlier
-- than that, and was claimed first once both were due: a message the pair limit held back was
-- overtaken by the one queued after it. A recipient's message now waits while an older message
-- of its recipient (same number) is queued.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 1000);
select hookline.send_message('wa', '+16505550000', '{"type": "text", "text": {"body": "1"}}', 'm1', now => '2026-03-01 10:00:00Z');
select is((select array_agg(o.idempotency_key) from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00:00Z') c
           join hookline.outbox o using (message_id)), array['m1'], 'the first message goes');
select hookline.send_message('wa', '+16505550000', '{"type": "text", "text": {"body": "2"}}', 'm2', now => '2026-03-01 10:00:01Z');
-- 60 messages to others: the next claim's prefix (4 * 1 + 50 rows) ends among them.
select hookline.send_message('wa', '+1650556' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "f"}}', 'f' || i, now => '2026-03-01 10:00:02Z')
from generate_series(1, 60) i;
select hookline.send_message('wa', '+16505550000', '{"type": "text", "text": {"body": "3"}}', 'm3', now => '2026-03-01 10:00:03Z');
-- m2 is held back (m1 went 3 s ago; pair_interval 6 s) and deferred to 10:00:06; m3 is not
-- in the prefix.
select is((select count(*)::int from hookline.claim_messages('r1', 1, '30 seconds', '2026-03-01 10:00:03Z')), 1,
  'one message to another recipient goes');
select is((select next_attempt_at from hookline.outbox where idempotency_key = 'm2'), '2026-03-01 10:00:06Z'::timestamptz,
  'm2 waits for the pair interval');
select is((select array_agg(o.idempotency_key) from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:06Z') c
           join hookline.outbox o using (message_id) where o.recipient = '+16505550000'), array['m2'],
  'once the pair allows it, m2 goes, not m3 (queued after it)');

select * from finish();
rollback;
