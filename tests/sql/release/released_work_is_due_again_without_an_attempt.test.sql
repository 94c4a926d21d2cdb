begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table c as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
select is_empty($$select hookline.release('r2', (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token)) from c))$$, 'another runner cannot release it');
select is((select count(*)::int from hookline.release('r1', (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token)) from c), '2026-03-01 10:00:02Z')), 1, 'its holder can');
select is((select (state, runner, attempt_count, next_attempt_at)::text from hookline.deliveries), '(pending,,0,"2026-03-01 10:00:02+00")', 'pending again, due at once, no attempt counted');
select is_empty('select * from hookline.attempts', 'no attempt is recorded');

select * from finish();
rollback;
