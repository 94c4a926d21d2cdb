-- claim_messages checks the pair limit on a prefix of the number's due messages: the messages
-- to take and 16 more, and four times as many and 50 only when that short prefix held too
-- many back. Each candidate costs two index probes of the outbox (its pair's claims, its
-- nearest older queued message), counted here by the table statistics of this transaction
-- with the claim's other index reads (about 20): a claim of 8 among 300 due messages read the
-- outbox's indexes 212 times (82 candidates), 70 times now.
begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 1000);
select hookline.send_message('wa', '+1650555' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "hi"}}', 'k' || i,
  now => '2026-03-01 10:00Z'::timestamptz + i * interval '1 millisecond')
from generate_series(1, 300) i;
create function pg_temp.index_reads() returns bigint language sql as $$
  select sum(idx_scan)::bigint from pg_stat_xact_user_tables where schemaname = 'hookline' and relname like 'outbox%'
$$;

create temp table before as select coalesce(pg_temp.index_reads(), 0) as n;
select is((select count(*) from hookline.claim_messages('r1', 8, '30 seconds', '2026-03-01 10:00:01Z')), 8::bigint,
  'a claim of 8 among 300 due messages takes 8');
select cmp_ok(pg_temp.index_reads() - (select n from before), '<', 2 * 24 + 50::bigint,
  'after probing 24 candidates (two index reads each, and the claim''s others)');

-- 40 messages to one recipient, then more to others: with a pair limit of one message per
-- 6 s, the short prefix (24) allows the recipient's first alone; the claim reads the long one.
select hookline.send_message('wa', '+16505559999', '{"type": "text", "text": {"body": "hi"}}', 'r' || i,
  now => '2026-03-01 10:00:02Z'::timestamptz + i * interval '1 millisecond')
from generate_series(1, 40) i;
update hookline.outbox set next_attempt_at = next_attempt_at - interval '1 hour' where idempotency_key like 'r%';
truncate before;
insert into before select pg_temp.index_reads();
create temp table c as select * from hookline.claim_messages('r1', 8, '30 seconds', '2026-03-01 10:00:10Z');
select is((select count(*) from c), 8::bigint, 'a claim of 8 still takes 8');
select ok((select idempotency_key from hookline.outbox where message_id = (select min(message_id) from hookline.outbox where idempotency_key like 'r%'))
          = any (select o.idempotency_key from c join hookline.outbox o using (message_id)),
  'the recipient''s first message among them');
select cmp_ok(pg_temp.index_reads() - (select n from before), '>', 2 * (24 + 82)::bigint,
  'after the short prefix, the long one');

select * from finish();
rollback;
