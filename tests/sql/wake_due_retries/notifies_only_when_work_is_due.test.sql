begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');

select is(hookline.wake_due_retries('2026-03-01 09:59Z'), 'nothing due', 'before its time nothing is due');
select is(hookline.wake_due_retries('2026-03-01 10:01Z'), 'woke the runners: deliveries are due', 'then the runners are woken');

-- A paused endpoint keeps its backlog, which no runner may claim: nothing to wake them for.
select hookline.pause_endpoint('crm', 'maintenance');
select is(hookline.wake_due_retries('2026-03-01 10:02Z'), 'nothing due', 'a paused endpoint''s due deliveries wake no runner');
select hookline.resume_endpoint('crm');
select is(hookline.wake_due_retries('2026-03-01 10:03Z'), 'woke the runners: deliveries are due', 'resumed, they do');

select * from finish();
rollback;
