begin;
select plan(8);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '106540352242922', 'EAAG-token-1');
select hookline.send_message('wa', '+1650555123' || i, '{"type": "text", "text": {"body": "hi"}}', 'k' || i) from generate_series(1, 3) i;
create temp table c as select * from hookline.claim_messages('r1', 10, '30 seconds');
-- k1 was accepted (wamid known); k2 timed out (no wamid); k3 stays unanswered.
select hookline.complete_messages(jsonb_build_array(
  jsonb_build_object('message_id', (select min(message_id) from c), 'lease_token', (select lease_token from c order by message_id limit 1), 'status_code', 200, 'wamid', 'wamid.ONE'),
  jsonb_build_object('message_id', (select min(message_id) + 1 from c), 'lease_token', (select lease_token from c order by message_id offset 1 limit 1), 'error_class', 'timeout')));

\ir ../post_statuses.sql

select pg_temp.post('[{"id": "wamid.ONE", "status": "delivered", "timestamp": "1749416501"}]');
select is((select state::text from hookline.outbox where wamid = 'wamid.ONE'), 'delivered', 'a delivered status moves the message by wamid');
select pg_temp.post('[{"id": "wamid.ONE", "status": "read", "timestamp": "1749416502"}, {"id": "wamid.ONE", "status": "sent", "timestamp": "1749416500"}]');
select is((select state::text from hookline.outbox where wamid = 'wamid.ONE'), 'read', 'read, and a late sent does not move it back');
select ok((select sent_at is not null and delivered_at is not null and read_at is not null from hookline.outbox where wamid = 'wamid.ONE'), 'each step is timestamped');

select pg_temp.post(jsonb_build_array(jsonb_build_object('id', 'wamid.TWO', 'status', 'sent', 'timestamp', '1749416503',
  'biz_opaque_callback_data', 'hookline:' || (select min(message_id) + 1 from c))));
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k2'), 'sent wamid.TWO',
  'an unconfirmed send is matched by its outbox id in the callback data, and learns its wamid');

select pg_temp.post('[{"id": "wamid.OTHER", "status": "delivered", "timestamp": "1749416504"}]');
select is((select count(*)::int from hookline.events where event_type = 'whatsapp.status.delivered'), 2,
  'a status of a message hookline did not send is kept as an event, not an error');

select pg_temp.post(jsonb_build_array(jsonb_build_object('id', 'wamid.THREE', 'status', 'failed', 'timestamp', '1749416505',
  'biz_opaque_callback_data', 'hookline:' || (select max(message_id) from c),
  'errors', '[{"code": 131047, "title": "Re-engagement message"}]'::jsonb)));
select is((select state::text from hookline.outbox where idempotency_key = 'k3'), 'failed', 'a failed status with a permanent code fails the message');
select is((select last_error_code from hookline.outbox where idempotency_key = 'k3'), 131047, 'with its code');
select is((select outcome from hookline.complete_messages(jsonb_build_array(jsonb_build_object(
  'message_id', (select max(message_id) from c), 'lease_token', (select lease_token from c order by message_id desc limit 1), 'status_code', 200, 'wamid', 'wamid.THREE')))),
  'stale', 'the runner''s answer after the webhook is stale');

select * from finish();
rollback;
