begin;
select plan(17);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', unconfirmed_wait => '5 minutes');
select hookline.send_message('wa', '+165055500' || lpad(i::text, 2, '0'), '{"type": "text", "text": {"body": "secret text"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 11) i;
create temp table c as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00Z');
create temp table answers (n int, result jsonb);
insert into answers values
  (1, '{"status_code": 200, "wamid": "wamid.A1"}'),
  (2, '{"status_code": 500, "error_code": 131000, "error_title": "Something went wrong"}'),
  (3, '{"status_code": 400, "error_code": 131026, "error_title": "Message undeliverable to +16505550003"}'),
  (4, '{"status_code": 400, "error_code": 132001, "error_title": "Template name does not exist"}'),
  (5, '{"status_code": 400, "error_code": 131056, "error_title": "Pair rate limit"}'),
  (6, '{"error_class": "timeout"}'),
  (7, '{"error_class": "connect"}'),
  (8, '{"status_code": 400, "error_code": 999999, "error_title": "new"}'),
  (9, '{"status_code": 400, "error_code": 77777, "is_transient": true}'),
  (10, '{"status_code": 503}'),
  (11, '{"status_code": 200}');
create temp table done as
select * from hookline.complete_messages(
  (select jsonb_agg(a.result || jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token))
   from c join hookline.outbox o using (message_id) join answers a on o.idempotency_key = 'k' || a.n),
  '2026-03-01 10:00:01Z');
create function pg_temp.state_of(n int) returns text language sql as
  $$ select state::text from hookline.outbox where idempotency_key = 'k' || n $$;

select is(pg_temp.state_of(1), 'sent', '200 with a wamid: sent');
select is((select wamid from hookline.outbox where idempotency_key = 'k1'), 'wamid.A1', 'the wamid is kept');
select is(pg_temp.state_of(2), 'queued', '131000 is transient: queued for a retry');
select is(pg_temp.state_of(3), 'failed', '131026 fails at once (recipient)');
select is(pg_temp.state_of(4), 'failed', '132001 fails at once (message)');
select is(pg_temp.state_of(5), 'queued', '131056 waits');
select is((select attempt_count from hookline.outbox where idempotency_key = 'k5'), 0, 'the pair limit is not a failed attempt');
select is(pg_temp.state_of(6), 'unconfirmed', 'a timeout is ambiguous: unconfirmed');
select is((select next_attempt_at from hookline.outbox where idempotency_key = 'k6'), '2026-03-01 10:05:01Z'::timestamptz,
  'it waits unconfirmed_wait for a status webhook');
select is(pg_temp.state_of(7), 'queued', 'a refused connection sent nothing: retried');
select is(pg_temp.state_of(8), 'queued', 'an unknown code is transient at first');
select is(pg_temp.state_of(9), 'queued', 'is_transient makes an unlisted code transient');
select is(pg_temp.state_of(10), 'queued', 'a 5xx without a code is transient');
select is(pg_temp.state_of(11), 'unconfirmed', 'a 2xx without wamid is ambiguous');
select ok((select last_error from hookline.outbox where idempotency_key = 'k3') !~ '16505550003'
  and (select bool_and(coalesce(last_error, '') !~ 'secret text') from hookline.outbox),
  'the error keeps neither the number nor the text');
select is((select outcome from hookline.complete_messages(
  (select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 200, 'wamid', 'wamid.late')) from c where message_id = (select message_id from hookline.outbox where idempotency_key = 'k1')),
  '2026-03-01 10:00:02Z')), 'stale', 'a late result for a finished lease is stale');

-- The unknown code: transient for at most three attempts.
update hookline.outbox set next_attempt_at = '2026-03-01 10:00Z' where idempotency_key = 'k8';
select hookline.complete_messages((select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 400, 'error_code', 999999))
  from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:10:00Z') where message_id = (select message_id from hookline.outbox where idempotency_key = 'k8')), '2026-03-01 10:10:01Z');
update hookline.outbox set next_attempt_at = '2026-03-01 10:00Z' where idempotency_key = 'k8';
select hookline.complete_messages((select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 400, 'error_code', 999999))
  from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:20:00Z') where message_id = (select message_id from hookline.outbox where idempotency_key = 'k8')), '2026-03-01 10:20:01Z');
select is(pg_temp.state_of(8), 'dead', 'an unknown code is dead after three attempts');

select * from finish();
rollback;
