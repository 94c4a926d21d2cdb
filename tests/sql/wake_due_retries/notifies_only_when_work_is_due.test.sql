begin;
select plan(2);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');

select is(hookline.wake_due_retries('2026-03-01 09:59Z'), 'nothing due', 'before its time nothing is due');
select is(hookline.wake_due_retries('2026-03-01 10:01Z'), 'woke the runners: deliveries are due', 'then the runners are woken');

select * from finish();
rollback;
