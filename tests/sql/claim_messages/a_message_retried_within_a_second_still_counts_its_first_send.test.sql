begin;
select plan(3);

-- A message's claims are counted through its last_claimed_at, so a retry claimed within the
-- second of its first send used to erase that send from the number's last second: three sends
-- in half a second at 2 per second (found by benchmarks/outbox_fuzz.py).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 2, retry_schedule => '{0.01 s}');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "x"}}', 'a', now => '2026-03-01 10:00Z');
select hookline.send_message('wa', '+16505550002', '{"type": "text", "text": {"body": "x"}}', 'b', now => '2026-03-01 10:00:00.5Z');

create temp table sends (at timestamptz);
create temp table lease as select * from hookline.claim_messages('r1', 1, '30 seconds', '2026-03-01 10:00Z');
insert into sends select '2026-03-01 10:00Z' from lease;
select is((select outcome from hookline.complete_messages(
    (select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 500)) from lease),
    '2026-03-01 10:00:00.01Z')), 'queued', 'the first send failed (5xx): a retry is queued');
insert into sends select '2026-03-01 10:00:00.1Z' from hookline.claim_messages('r1', 1, '30 seconds', '2026-03-01 10:00:00.1Z');
insert into sends select '2026-03-01 10:00:00.5Z' from hookline.claim_messages('r1', 1, '30 seconds', '2026-03-01 10:00:00.5Z');
select cmp_ok((select max(n) from (select count(*) over (order by at range between interval '0.999999 s' preceding and current row) n from sends) w),
  '<=', 2::bigint, 'no more than messages_per_second sends in any sliding second, a retry''s first send included');
select cmp_ok((select next_attempt_at from hookline.outbox where idempotency_key = 'a' and state = 'queued'),
  '>=', '2026-03-01 10:00:01Z'::timestamptz, 'the retry waits until its first send has left the second');

select * from finish();
rollback;
