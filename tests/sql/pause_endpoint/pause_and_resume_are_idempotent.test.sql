begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select is(hookline.pause_endpoint('crm', 'maintenance'), 'paused', 'pause returns the state');
select is((select paused_reason from hookline.endpoints), 'maintenance', 'with the reason');
select is(hookline.resume_endpoint('crm'), 'active', 'resume makes it active');
select throws_ok($$select hookline.pause_endpoint('nope')$$, 'HL020', 'unknown endpoint ''nope''', 'an unknown endpoint is HL020');

select * from finish();
rollback;
