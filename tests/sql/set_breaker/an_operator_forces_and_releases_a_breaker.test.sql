begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', '*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 12) i;
create temp table ep as select 'endpoint:' || endpoint_id as target from hookline.endpoints;

select is((hookline.set_breaker((select target from ep), 'open', 'deploying the CRM', '2026-03-01 10:00Z')).state, 'open', 'forced open');
select is_empty($$select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 11:00Z')$$, 'a forced-open endpoint''s deliveries are not claimed, even after the cool-down');
select is((select sum(attempt_count)::int from hookline.deliveries), 0, 'and no attempt is counted');
select is(hookline.next_due(), null, 'runners are not woken for it');
select is((hookline.set_breaker((select target from ep), 'auto', 'deployed', '2026-03-01 11:00Z')).state, 'open', 'auto keeps the state, now automatic');
select is((select count(*)::int from hookline.claim('r1', 10, '30 seconds', '2026-03-01 11:01Z')), 10, 'after the cool-down, half-open: a sample of ten probes');
select is((select actor || ': ' || reason from hookline.breaker_transitions order by transition_id limit 1),
  session_user || ': deploying the CRM (open)', 'the operator''s call is recorded with who made it');

select * from finish();
rollback;
