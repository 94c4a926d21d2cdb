begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table first as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00Z');
create temp table second as select * from hookline.claim('r2', 10, '30 seconds', '2026-03-01 10:00:31Z');
select is((select delivery_id from second), (select delivery_id from first), 'after the lease expired, another runner claims it');
select isnt((select lease_token from second), (select lease_token from first), 'with a new lease token');
select is((select runner from hookline.deliveries), 'r2', 'and holds it');

select * from finish();
rollback;
