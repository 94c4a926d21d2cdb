begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select throws_ok($$select hookline.add_subscription('crm', 'whatsapp..message')$$, 'HL022', 'invalid event type pattern ''whatsapp..message''', 'an empty segment is HL022');
select throws_ok($$select hookline.add_subscription('crm', 'whatsapp.mess*')$$, 'HL022', 'invalid event type pattern ''whatsapp.mess*''', 'a * inside a word is HL022');
select throws_ok($$select hookline.add_subscription('nope', '*')$$, 'HL020', 'unknown endpoint ''nope''', 'an unknown endpoint is HL020');
select is(hookline.add_subscription('crm', 'whatsapp.message.*'), (select subscription_id from hookline.subscriptions), 'subscribing twice returns the same subscription');

select * from finish();
rollback;
