begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '106540352242922', 'EAAG-token-1');

create temp table ids as
select hookline.send_message('wa', '+16505551234', '{"type": "text", "text": {"body": "hi"}}', 'order-42') as id
union all
select hookline.send_message('wa', '+16505551234', '{"type": "text", "text": {"body": "changed"}}', 'order-42');
select is((select count(distinct id)::int from ids), 1, 'the same key returns the same outbox id');
select is((select count(*)::int from hookline.outbox), 1, 'one row');
select is((select message->'text'->>'body' from hookline.outbox), 'hi', 'the first call''s message is kept');
select is((select state::text from hookline.outbox), 'queued', 'a new message is queued');
select isnt(hookline.send_message('wa', 'US.13491208655302741918', '{"type": "text", "text": {"body": "hi"}}', 'order-43'),
  (select id from ids limit 1), 'another key is another message');
select is(
  (select body::jsonb - 'text' from hookline.claim_messages('r1', 10, '30 seconds') where message_id = (select min(id) from ids)),
  jsonb_build_object('type', 'text', 'messaging_product', 'whatsapp', 'recipient_type', 'individual',
    'to', '+16505551234', 'biz_opaque_callback_data', 'hookline:' || (select min(id) from ids)),
  'the body carries the recipient and the outbox id as callback data');

select * from finish();
rollback;
