begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{"text": "hi"}', '2026-03-01 09:59Z', '2026-03-01 10:00Z');
select is_empty($$select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 09:59Z')$$, 'nothing is due before received_at');
create temp table c as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00Z');
select is((select count(*)::int from c), 1, 'the due delivery is claimed');
select is((select webhook_id from c), 'dlv_' || (select delivery_id from c), 'webhook-id is dlv_<delivery id>');
select is((select (url, timeout_ms, attempt, generation)::text from c), '(http://127.0.0.1:9/crm,10000,1,1)', 'url, timeout, attempt and generation come along');
select is((select body from c), (select b.body from hookline.events e, hookline._delivery_body(e) b), 'the body is the delivered envelope (hookline._delivery_body)');
select is((select (state, runner, next_attempt_at)::text from hookline.deliveries), '(in_flight,r1,"2026-03-01 10:00:30+00")', 'in flight, leased to r1 until now + lease');
select is_empty($$select * from hookline.claim('r2', 10, '30 seconds', '2026-03-01 10:00:10Z')$$, 'a leased delivery is not claimed by another runner');

select * from finish();
rollback;
