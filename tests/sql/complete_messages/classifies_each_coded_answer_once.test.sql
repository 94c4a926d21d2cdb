-- complete_messages reads each coded answer's class from hookline.graph_error_codes once
-- (hookline._graph_error_class), for its pair-limit lock at the top and for the outcome: it
-- classified each twice. Counted by the function statistics of this transaction.
begin;
select plan(3);

set local track_functions = 'all';
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.send_message('wa', '+165055500' || lpad(i::text, 2, '0'), '{"type": "text", "text": {"body": "hi"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 4) i;
create temp table c as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00Z');
create temp table answers (n int, result jsonb);
insert into answers values
  (1, '{"status_code": 400, "error_code": 131056, "error_title": "Pair rate limit"}'),
  (2, '{"status_code": 400, "error_code": 131026}'),
  (3, '{"status_code": 200, "wamid": "wamid.A3"}'),
  (4, '{"error_class": "timeout"}');
create temp table done as
select * from hookline.complete_messages(
  (select jsonb_agg(a.result || jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token))
   from c join hookline.outbox o using (message_id) join answers a on o.idempotency_key = 'k' || a.n),
  '2026-03-01 10:00:01Z');

select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_graph_error_class'),
  2::bigint, 'two coded answers: two classifications');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'queued', '131056 waits');
select is((select state::text from hookline.outbox where idempotency_key = 'k2'), 'failed', '131026 fails');

select * from finish();
rollback;
