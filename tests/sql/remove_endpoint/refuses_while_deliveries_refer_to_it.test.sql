begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
select throws_ok($$select hookline.remove_endpoint('crm')$$, 'HL023', 'endpoint ''crm'' has 1 live deliveries and 0 dead letters', 'a live delivery keeps the endpoint');
select hookline.discard(array(select delivery_id from hookline.deliveries));
select throws_ok($$select hookline.remove_endpoint('crm')$$, 'HL023', 'endpoint ''crm'' has 0 live deliveries and 1 dead letters', 'so does a dead letter');
delete from hookline.dead_letters;
select lives_ok($$select hookline.remove_endpoint('crm')$$, 'without them it goes');
select is_empty('select * from hookline.subscriptions', 'with its subscriptions');

select * from finish();
rollback;
