begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select is(hookline.next_due(), null, 'nothing queued: null');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table c as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
select is(hookline.next_due(), '2026-03-01 10:00:30Z'::timestamptz, 'an in-flight delivery is due when its lease expires');
select hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 503, 'retry_after_s', 90)) from c), '2026-03-01 10:00:05Z');
select is(hookline.next_due(), '2026-03-01 10:01:35Z'::timestamptz, 'a retrying one at its next attempt');
select hookline.pause_endpoint('crm');
select is(hookline.next_due(), null, 'a paused endpoint''s deliveries are not due');

select * from finish();
rollback;
