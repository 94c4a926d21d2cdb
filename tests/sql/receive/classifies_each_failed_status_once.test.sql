-- receive_many reads a failed status's class from hookline.graph_error_codes once
-- (hookline._graph_error_class), for its pair-limit lock and for the outcome
-- (hookline._apply_message_status): it classified each twice. Counted by the function
-- statistics of this transaction.
begin;
select plan(4);

set local track_functions = 'all';
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.send_message('wa', '+165055500' || lpad(i::text, 2, '0'), '{"type": "text", "text": {"body": "hi"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 3) i;
select hookline.complete_messages(
  (select jsonb_agg(jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 200,
     'wamid', 'wamid.' || o.idempotency_key))
   from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z') c join hookline.outbox o using (message_id)),
  '2026-03-01 10:00:01Z');

-- One notification, three statuses: k1 failed with a transient code, k2 with a permanent one,
-- k3 delivered.
create temp table body as
select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
  'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
    'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '1065'),
    'statuses', jsonb_build_array(
      jsonb_build_object('id', 'wamid.k1', 'status', 'failed', 'timestamp', '1749416501',
        'errors', jsonb_build_array(jsonb_build_object('code', 131000, 'title', 'Something went wrong'))),
      jsonb_build_object('id', 'wamid.k2', 'status', 'failed', 'timestamp', '1749416501',
        'errors', jsonb_build_array(jsonb_build_object('code', 131026, 'title', 'Undeliverable'))),
      jsonb_build_object('id', 'wamid.k3', 'status', 'delivered', 'timestamp', '1749416501')))))))) as b;
select hookline.receive('wa', b.b, convert_to(b.b::text, 'UTF8'), received_at => '2026-03-01 10:00:02Z') from body b;

select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_graph_error_class'),
  2::bigint, 'two failed statuses: two classifications');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'queued', '131000 sends it again');
select is((select state::text from hookline.outbox where idempotency_key = 'k2'), 'failed', '131026 fails');
select is((select state::text from hookline.outbox where idempotency_key = 'k3'), 'delivered', 'the delivered one moves on');

select * from finish();
rollback;
