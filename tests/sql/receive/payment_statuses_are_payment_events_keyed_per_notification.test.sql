begin;
select plan(6);

-- Payments API India: one payment (reference_id) reports captured, pending or failed in
-- statuses[] of the messages field, with "type": "payment", once per transaction attempt
-- (the shape of tests/fixtures/payment_status.json; tests/fixtures/README.md says where from).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '106540352242922', 'EAAG-token-1');
select hookline.send_message('wa', '+16505551234', '{"type": "interactive", "interactive": {"type": "order_details"}}', 'order-1');
create temp table c as select * from hookline.claim_messages('r1', 10, '30 seconds');
select hookline.complete_messages(jsonb_build_array(jsonb_build_object(
  'message_id', (select message_id from c), 'lease_token', (select lease_token from c), 'status_code', 200, 'wamid', 'wamid.PAY')));

create function pg_temp.payment(status text, txn text, txn_status text, at integer) returns jsonb language sql as $$
  select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '106540352242922'),
      'statuses', jsonb_build_array(jsonb_build_object('id', 'wamid.PAY', 'recipient_id', '16505551234', 'type', 'payment',
        'status', status, 'timestamp', at::text, 'payment', jsonb_build_object('reference_id', 'order-1',
          'amount', jsonb_build_object('value', 21000, 'offset', 100), 'currency', 'INR',
          'transaction', jsonb_build_object('id', txn, 'type', 'razorpay', 'status', txn_status,
            'created_timestamp', at, 'updated_timestamp', at))))))))))
$$;
create function pg_temp.post(body jsonb) returns integer language sql as $$
  select new_event_count from hookline.receive('wa', body, convert_to(body::text, 'UTF8'))
$$;

select is(pg_temp.post(pg_temp.payment('pending', 'txn_a', 'failed', 1749417800)), 1, 'a payment status is an event');
select is(pg_temp.post(pg_temp.payment('pending', 'txn_a', 'failed', 1749417800)), 0, 'its retry is a duplicate');
select is(pg_temp.post(pg_temp.payment('pending', 'txn_b', 'pending', 1749417900)), 1,
  'the same payment pending again for a new transaction is a new event, not a duplicate of the first');
select is(pg_temp.post(pg_temp.payment('failed', 'txn_b', 'failed', 1749418000)), 1, 'its failure is one too');
select results_eq(
  $$select event_type, external_id like 'wamid.PAY:payment:' || split_part(event_type, '.', 3) || ':%' from hookline.events order by event_id$$,
  $$values ('whatsapp.payment.pending', true), ('whatsapp.payment.pending', true), ('whatsapp.payment.failed', true)$$,
  'typed whatsapp.payment.<status>, keyed by the id, the status and a digest of the item'
);
select is((select state::text from hookline.outbox where idempotency_key = 'order-1'), 'sent',
  'a failed payment is not a failed message: the order message it refers to stays sent');

select * from finish();
rollback;
