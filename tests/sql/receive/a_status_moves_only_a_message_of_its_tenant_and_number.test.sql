begin;
select plan(9);

-- A status webhook was matched to a message by wamid across every tenant, and by outbox id
-- for any tenant's source naming the number: a status posted through another tenant's source
-- (signed with that tenant's app secret) moved this tenant's messages (found by
-- benchmarks/outbox_fuzz.py). The message is now one of the notification's tenant and number.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme'), ('beta', 'Beta');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_source('beta', 'wb', 'whatsapp', 'other-app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.add_sender('wa', '1066', 'EAAG-token-1');
select hookline.add_sender('wb', '2065', 'EAAG-token-2');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k1', phone_number_id => '1065');
select hookline.send_message('wa', '+16505550002', '{"type": "text", "text": {"body": "hi"}}', 'k2', phone_number_id => '1065');
select hookline.send_message('wb', '+16505550003', '{"type": "text", "text": {"body": "hi"}}', 'k3');
create temp table c as select * from hookline.claim_messages('r1', 10, '30 seconds');
-- acme's k1 was accepted (wamid.ONE); acme's k2 and beta's k3 timed out (unconfirmed).
select hookline.complete_messages((select jsonb_agg(case when o.idempotency_key = 'k1'
    then jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 200, 'wamid', 'wamid.ONE')
    else jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'error_class', 'timeout') end)
  from c join hookline.outbox o using (message_id)));

create function pg_temp.post(source text, phone text, items jsonb) returns void language sql as $$
  select from (select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', phone),
      'statuses', items)))))) as b) x,
    lateral hookline.receive(source, x.b, convert_to(x.b::text, 'UTF8'))
$$;
create function pg_temp.id(key text) returns text language sql as $$
  select 'hookline:' || message_id from hookline.outbox where idempotency_key = key
$$;

select pg_temp.post('wb', '1065', '[{"id": "wamid.ONE", "status": "delivered", "timestamp": "1749416501"}]');
select pg_temp.post('wb', '2065', '[{"id": "wamid.ONE", "status": "read", "timestamp": "1749416502"}]');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'sent',
  'another tenant''s source cannot move a message by its wamid, whatever number it names');
select pg_temp.post('wa', '1066', '[{"id": "wamid.ONE", "status": "delivered", "timestamp": "1749416503"}]');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'sent',
  'nor a notification of another number of the same tenant');

select pg_temp.post('wb', '1065', jsonb_build_array(jsonb_build_object('id', 'wamid.X', 'status', 'sent',
  'timestamp', '1749416504', 'biz_opaque_callback_data', pg_temp.id('k2'))));
select pg_temp.post('wb', '2065', jsonb_build_array(jsonb_build_object('id', 'wamid.Y', 'status', 'failed',
  'timestamp', '1749416505', 'biz_opaque_callback_data', pg_temp.id('k2'), 'errors', '[{"code": 131026, "title": "Undeliverable"}]'::jsonb)));
select is((select state::text || ' ' || coalesce(wamid, '-') from hookline.outbox where idempotency_key = 'k2'), 'unconfirmed -',
  'another tenant''s source cannot move a message by its outbox id');
select pg_temp.post('wa', '1066', jsonb_build_array(jsonb_build_object('id', 'wamid.Z', 'status', 'sent',
  'timestamp', '1749416506', 'biz_opaque_callback_data', pg_temp.id('k2'))));
select is((select state::text from hookline.outbox where idempotency_key = 'k2'), 'unconfirmed',
  'nor a notification of another number naming its outbox id');

select pg_temp.post('wb', '2065', jsonb_build_array(jsonb_build_object('id', 'wamid.ONE', 'status', 'sent',
  'timestamp', '1749416507', 'biz_opaque_callback_data', pg_temp.id('k3'))));
select is((select state::text || ' ' || coalesce(wamid, '-') from hookline.outbox where idempotency_key = 'k3'), 'unconfirmed -',
  'a message never learns a wamid another message has');

select is((select count(*)::int from hookline.events where event_type like 'whatsapp.status.%'), 7,
  'every one of them is stored as an event');

select pg_temp.post('wa', '1065', '[{"id": "wamid.ONE", "status": "read", "timestamp": "1749416508"}]');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'read',
  'the message''s own source and number move it');
select pg_temp.post('wa', '1065', jsonb_build_array(jsonb_build_object('id', 'wamid.TWO', 'status', 'sent',
  'timestamp', '1749416509', 'biz_opaque_callback_data', pg_temp.id('k2'))));
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k2'), 'sent wamid.TWO',
  'and find an unconfirmed one by its outbox id');
select pg_temp.post('wb', '2065', jsonb_build_array(jsonb_build_object('id', 'wamid.THREE', 'status', 'sent',
  'timestamp', '1749416510', 'biz_opaque_callback_data', pg_temp.id('k3'))));
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k3'), 'sent wamid.THREE',
  'beta''s through beta''s source');

select * from finish();
rollback;
