begin;
select plan(13);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 5);
-- Ten recipients with one message each, and three messages to one more recipient.
select hookline.send_message('wa', '+1650555' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "x"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 10) i;
select hookline.send_message('wa', '+16505559999', '{"type": "text", "text": {"body": "x"}}', 'p' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 3) i;

select is((select count(*)::int from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:00.1Z')), 5,
  'no more than messages_per_second in one second');
select is((select count(*)::int from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:00.9Z')), 0,
  'another runner gets nothing more in that second');
select is((select count(*)::int from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:01.0Z')), 0,
  'nor at the next clock second: the limit holds in every sliding second, not per clock second');
select is((select count(*)::int from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:01.1Z')), 0,
  'nor a second after the first claims: they count for 1 s + the send margin (250 ms), the longest a claimed message may wait for its start');
select is(hookline.next_message_due('2026-03-01 10:00:01.0Z'), '2026-03-01 10:00:01.35Z'::timestamptz,
  'runners sleep until the first claims leave the window of 1.25 s');
create temp table second as select * from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:01.35Z');
select is((select count(*)::int from second), 5, '1.25 s after the first claims there is room again');
select is((select count(*)::int from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:02.6Z')), 1,
  'then one of the three to the same recipient: the pair limit holds the others back');
select is((select count(*)::int from hookline.outbox where recipient = '+16505559999' and state = 'sending'), 1,
  'one message to the busy recipient');
select is((select array_agg(distinct next_attempt_at) from hookline.outbox where recipient = '+16505559999' and state = 'queued'),
  array['2026-03-01 10:00:06.1Z'::timestamptz], 'held back at the first claim, the others were deferred by pair_interval, not rescanned');
select is(hookline.next_message_due('2026-03-01 10:00:03Z'), '2026-03-01 10:00:06.1Z'::timestamptz,
  'runners sleep until then');
select is((select count(*)::int from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:07.9Z')), 0,
  'within six seconds of its last claim the recipient gets nothing');
select is((select array_agg(distinct next_attempt_at) from hookline.outbox where recipient = '+16505559999' and state = 'queued'),
  array['2026-03-01 10:00:08.6Z'::timestamptz], 'and its messages wait until the six seconds are over');
select is((select message_id from hookline.claim_messages('r2', 100, '30 seconds', '2026-03-01 10:00:09Z')),
  (select min(message_id) + 1 from hookline.outbox where recipient = '+16505559999'),
  'after six seconds the next message, in order');

select * from finish();
rollback;
