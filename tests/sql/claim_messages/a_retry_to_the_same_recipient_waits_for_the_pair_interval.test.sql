begin;
select plan(4);

-- The pair limit counted a recipient's recent claims but the retried message's own, so a
-- retry went out a second after its first send (the retry rule) whatever pair_interval
-- said. WhatsApp counts what reaches it: a send that timed out may have (the retry is then a
-- second message within the interval), and after 131056 the recipient is over the limit
-- already. A retry now waits until its own last claim is pair_interval old.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', unconfirmed_wait => '1 s', retry_schedule => '{0.01 s}');
select hookline.send_message('wa', '+1650555000' || i, '{"type": "text", "text": {"body": "x"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 3) i;
-- A 5xx, a timeout and the pair limit's own answer (131056), each to its own recipient.
select hookline.complete_messages(jsonb_agg(case o.idempotency_key
    when 'k1' then jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 500)
    when 'k2' then jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'error_class', 'timeout')
    else jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 400, 'error_code', 131056) end),
  '2026-03-01 10:00:00.01Z')
from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z') c join hookline.outbox o using (message_id);
select is((select count(*)::int from hookline.outbox where next_attempt_at < '2026-03-01 10:00:02Z'), 3,
  'the three retries are due within two seconds');

select is((select count(*)::int from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00:02Z')), 0,
  'none is claimed within pair_interval of its own first send');
select is((select array_agg(distinct next_attempt_at) from hookline.outbox),
  array['2026-03-01 10:00:06Z'::timestamptz], 'each is deferred until its first send is pair_interval old');
select is((select count(*)::int from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00:06Z')), 3,
  'then all three go');

select * from finish();
rollback;
