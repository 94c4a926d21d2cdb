begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 20, retry_schedule => '{1 second, 1 second}');
select hookline.add_subscription('crm', '*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 15) i;

create temp table c as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00Z');
create temp table done as select * from hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 503)) from c),
  '2026-03-01 10:00:01Z');
select is((select state from hookline.circuit_breakers), 'open', 'ten 503s in a row open the endpoint''s breaker');
select is_empty($$select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:10Z')$$,
  'while open, claim leases none of its deliveries, due or not');
select is((select max(attempt_count) from hookline.deliveries), 1,
  'and counts no attempt for them');
select is(hookline.next_due(), '2026-03-01 10:00:31Z'::timestamptz, 'runners are woken when the cool-down ends');
create temp table probes as select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 10:00:31Z');
select is((select count(*)::int from probes), 10, 'half-open: a sample of ten probes (its max_in_flight is 20)');
select hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200)) from probes),
  '2026-03-01 10:00:32Z');
select is((select state from hookline.circuit_breakers), 'closed', 'ten successful probes close it');
select is((select count(*)::int from hookline.claim('r1', 20, '30 seconds', '2026-03-01 10:00:33Z')), 5,
  'and every due delivery flows again');

select * from finish();
rollback;
