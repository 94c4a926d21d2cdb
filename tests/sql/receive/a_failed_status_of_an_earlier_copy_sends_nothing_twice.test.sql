begin;
select plan(7);

-- A failed status was applied to whatever state the message was in (found by
-- benchmarks/outbox_fuzz.py): a failed earlier copy of a message that was sent again since and
-- accepted queued it once more (a third copy, the second one fine), and a failed status
-- arriving while a runner was sending the message made it claimable at once (two runners
-- sending it at the same time).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', retry_schedule => '{1 s, 1 s, 1 s}');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k1', now => '2026-03-01 10:00Z');
select hookline.send_message('wa', '+16505550002', '{"type": "text", "text": {"body": "hi"}}', 'k2', now => '2026-03-01 10:00Z');
-- Both sent once, both answers lost (timeout: unconfirmed for 10 minutes), both sent again.
select hookline.complete_messages(jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'error_class', 'timeout')), '2026-03-01 10:00:01Z')
from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z');
create temp table c as select * from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:11Z');
select is((select count(*)::int from c), 2, 'both are sent again');
-- k1's second copy is accepted (wamid.TWO); k2's is still being sent.
select hookline.complete_messages(jsonb_agg(jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 200, 'wamid', 'wamid.TWO')), '2026-03-01 10:11:01Z')
from c join hookline.outbox o using (message_id) where o.idempotency_key = 'k1';

create function pg_temp.failed(wamid text, key text, code int) returns void language sql as $$
  select from (select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '1065'),
      'statuses', jsonb_build_array(jsonb_build_object('id', wamid, 'status', 'failed', 'timestamp', '1749416501',
        'biz_opaque_callback_data', 'hookline:' || (select message_id from hookline.outbox where idempotency_key = key),
        'errors', jsonb_build_array(jsonb_build_object('code', code, 'title', 'Something went wrong')))))))))) as b) x,
    lateral hookline.receive('wa', x.b, convert_to(x.b::text, 'UTF8'), received_at => '2026-03-01 10:11:02Z')
$$;

-- The first copies fail (transient: 131000), their statuses late.
select pg_temp.failed('wamid.ONE', 'k1', 131000);
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k1'), 'sent wamid.TWO',
  'a failed earlier copy leaves a message whose later copy was accepted as it is');
select pg_temp.failed('wamid.ONE2', 'k2', 131000);
select is((select count(*)::int from hookline.claim_messages('r2', 10, '30 seconds', '2026-03-01 10:11:07Z') x
           where x.message_id = (select message_id from hookline.outbox where idempotency_key = 'k2')), 0,
  'a message a runner is sending is not claimable because of a failed status');
select cmp_ok((select next_attempt_at from hookline.outbox where idempotency_key = 'k2'), '>=', '2026-03-01 10:11:30Z'::timestamptz,
  'its retry waits until the lease it had would have ended');
select is((select outcome from hookline.complete_messages(
             (select jsonb_agg(jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 200, 'wamid', 'wamid.THREE'))
              from c join hookline.outbox o using (message_id) where o.idempotency_key = 'k2'), '2026-03-01 10:11:08Z')),
  'stale', 'its runner''s answer is stale');

-- The current copy fails: the message is sent again; a permanent code fails it.
select pg_temp.failed('wamid.TWO', 'k1', 131000);
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'queued',
  'a failed status of a sent message''s own copy sends it again');
select pg_temp.failed('wamid.THREE', 'k2', 131026);
select is((select state::text from hookline.outbox where idempotency_key = 'k2'), 'failed',
  'a permanent code fails a queued message');

select * from finish();
rollback;
