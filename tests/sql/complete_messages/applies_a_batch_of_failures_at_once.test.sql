-- complete_messages applies a batch's failures in one call (hookline._message_outcomes), one
-- statement per table: the breaker counts them in one call (it was called once per failure,
-- and each failure cost five times a success), the number takes all its throttle answers at
-- once, and two pair-limit answers of one recipient keep its messages in order (the one with
-- the shorter wait, answered after the other, went first). Counted by the function statistics
-- of this transaction.
begin;
select plan(9);

set local track_functions = 'all';
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 80, pair_burst => 5);
-- k1 to k9 to recipients of their own, k10 and k11 to one recipient.
select hookline.send_message('wa', case when i <= 9 then '+165055500' || lpad(i::text, 2, '0') else '+16505559999' end,
  '{"type": "text", "text": {"body": "hi"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 11) i;
-- k10 was answered with the pair limit twice before: its third answer waits 4^2 s.
update hookline.outbox set throttle_count = 2 where idempotency_key = 'k10';
create temp table c as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00Z');
-- A claim takes one message of a recipient: k11 in a second claim.
insert into c select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:00.1Z');
-- k12 to the same recipient, queued after the claim: it waits with the answered ones.
select hookline.send_message('wa', '+16505559999', '{"type": "text", "text": {"body": "hi"}}', 'k12', now => '2026-03-01 10:00:00.5Z');
create temp table answers (n int, result jsonb);
insert into answers values
  (1, '{"status_code": 500}'), (2, '{"status_code": 503}'), (3, '{"status_code": 500, "error_code": 131000}'),
  (4, '{"error_class": "connect"}'), (5, '{"error_class": "timeout"}'), (6, '{"error_class": "network"}'),
  (7, '{"status_code": 400, "error_code": 130429}'), (8, '{"status_code": 400, "error_code": 130429}'),
  (9, '{"status_code": 401, "error_code": 190, "error_title": "token expired"}'),
  (10, '{"status_code": 400, "error_code": 131056}'), (11, '{"status_code": 400, "error_code": 131056}');
create temp table done as
select * from hookline.complete_messages(
  (select jsonb_agg(a.result || jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token))
   from c join hookline.outbox o using (message_id) join answers a on o.idempotency_key = 'k' || a.n),
  '2026-03-01 10:00:01Z');
create function pg_temp.next_of(n int) returns timestamptz language sql as
  $$ select next_attempt_at from hookline.outbox where idempotency_key = 'k' || n $$;

select is((select count(*) from c), 11::bigint, 'the eleven messages were claimed');
select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_breaker_results'),
  1::bigint, 'six failed attempts: one count for the breaker');
select is((select string_agg(state::text, ',' order by idempotency_key) from hookline.outbox
           where idempotency_key in ('k1', 'k2', 'k3', 'k4', 'k5', 'k6')),
  'queued,queued,queued,queued,unconfirmed,unconfirmed', 'the retries and the ambiguous answers');
select is((select throttled_rate from hookline.senders where phone_number_id = '1065'), 20,
  'two throttle answers halve the rate twice');
select is((select throttled_until from hookline.senders where phone_number_id = '1065'), '2026-03-01 10:00:02Z'::timestamptz,
  'the number waits the throttle''s delay');
select ok((select state = 'paused' and paused_reason like 'account or auth error at %token expired%' from hookline.senders where phone_number_id = '1065'),
  'an account answer pauses the number');
select is((select state from hookline.circuit_breakers where target = 'sender:1065'), 'open', 'and opens its breaker');
select is(pg_temp.next_of(10), '2026-03-01 10:00:17Z'::timestamptz, 'the third pair-limit answer waits 16 s');
select ok(pg_temp.next_of(11) >= pg_temp.next_of(10) and pg_temp.next_of(12) >= pg_temp.next_of(10),
  'the recipient''s other messages, answered or queued, wait as long');

select * from finish();
rollback;
