begin;
select plan(6);

-- Two apps (sources) of a tenant subscribed to one WABA each get every status: stored as an
-- event of each source (event keys are per source), a failed status was applied twice, once
-- through each: two attempts counted, two breaker failures, the retry delayed again.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_source('acme', 'wa2', 'whatsapp', 'other-app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', retry_schedule => '{1 min, 1 min, 1 min, 1 min}');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k1', now => '2026-03-01 10:00Z');
select hookline.send_message('wa', '+16505550002', '{"type": "text", "text": {"body": "hi"}}', 'k2', now => '2026-03-01 10:00Z');
select hookline.complete_messages(jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token,
  'status_code', 200, 'wamid', 'wamid.' || message_id)), '2026-03-01 10:00:01Z')
from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z');

create function pg_temp.failed(key text) returns text language sql as $$
  select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '1065'),
      'statuses', jsonb_build_array(jsonb_build_object('id', (select wamid from hookline.outbox where idempotency_key = key),
        'status', 'failed', 'timestamp', '1749416501',
        'errors', jsonb_build_array(jsonb_build_object('code', 131000, 'title', 'Something went wrong'))))))))))::text
$$;

-- k1: through one app, then (another transaction, in the suite another call) through the other.
select hookline.receive('wa', pg_temp.failed('k1')::jsonb, convert_to(pg_temp.failed('k1'), 'UTF8'), received_at => '2026-03-01 10:00:02Z');
create temp table after_first as select attempt_count, next_attempt_at from hookline.outbox where idempotency_key = 'k1';
select hookline.receive('wa2', pg_temp.failed('k1')::jsonb, convert_to(pg_temp.failed('k1'), 'UTF8'), received_at => '2026-03-01 10:00:03Z');
select is((select attempt_count from hookline.outbox where idempotency_key = 'k1'), 2,
  'the send and one failed status are counted, not the status twice');
select is((select next_attempt_at from hookline.outbox where idempotency_key = 'k1'), (select next_attempt_at from after_first),
  'the retry is not delayed again');
select is((select count(*)::int from hookline.events where event_type = 'whatsapp.status.failed'), 2,
  'each app''s notification is stored as its source''s event');

-- k2: both apps' notifications in one group.
select is((select array_agg(r.new_event_count order by r.ord) from hookline.receive_many(
             array['wa', 'wa2'], array[pg_temp.failed('k2'), pg_temp.failed('k2')],
             array[convert_to(pg_temp.failed('k2'), 'UTF8'), convert_to(pg_temp.failed('k2'), 'UTF8')],
             array['{}'::jsonb, '{}'::jsonb], received_at => '2026-03-01 10:00:04Z') r), '{1,1}',
  'a group stores both');
select is((select attempt_count from hookline.outbox where idempotency_key = 'k2'), 2,
  'and counts the failed status once');
select is((select window_failures from hookline.circuit_breakers where target = 'sender:1065'), 2,
  'the breaker counts one failure per message');

select * from finish();
rollback;
