begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.add_endpoint('acme', 'fast', 'http://127.0.0.1:9/fast');
select hookline.add_subscription('fast', '*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 5) i;
create temp table c as select * from hookline.claim('r1', 100, '30 seconds', '2026-03-01 10:00Z');
select is((select count(*)::int from c where url like '%/crm'), 2, 'no more than max_in_flight (2) of one endpoint');
select is((select count(*)::int from c where url like '%/fast'), 5, 'while the other endpoint''s backlog flows');
select is_empty($$select * from hookline.claim('r2', 100, '30 seconds', '2026-03-01 10:00:01Z')$$, 'a full endpoint gives nothing to another runner');
select hookline.pause_endpoint('crm', 'maintenance');
select is_empty($$select * from hookline.claim('r2', 100, '1 minute', '2026-03-01 10:01Z') where url like '%/crm'$$, 'a paused endpoint''s deliveries wait, expired leases too');
select hookline.resume_endpoint('crm');
select is((select count(*)::int from hookline.claim('r2', 100, '30 seconds', '2026-03-01 10:01Z')), 2, 'after resume they flow, within max_in_flight');

select * from finish();
rollback;
