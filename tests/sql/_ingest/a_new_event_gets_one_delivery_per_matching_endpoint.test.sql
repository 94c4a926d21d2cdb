begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'other', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'billing', 'https://billing.internal/hook');
select hookline.add_subscription('billing', 'whatsapp.*', source => 'wa');
select hookline.add_subscription('billing', 'whatsapp.message.text');
select hookline.add_endpoint('acme', 'off', 'https://off.internal/hook');
select hookline.add_subscription('off', '*');
update hookline.endpoints set state = 'disabled' where name = 'off';

select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
select set_eq(
  $$select e.name from hookline.deliveries d join hookline.endpoints e using (endpoint_id)$$,
  array['crm', 'billing'],
  'one delivery per matching endpoint, even when two of its subscriptions match; none for a disabled one'
);
select is(
  (select array_agg(distinct state::text) from hookline.deliveries), array['pending'],
  'deliveries start pending'
);
select is(
  (select min(next_attempt_at) from hookline.deliveries), '2026-03-01 10:00Z'::timestamptz,
  'and are due at once (received_at)'
);
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:01Z');
select is((select count(*)::int from hookline.deliveries), 2, 'a duplicate event fans out nothing');
select hookline.ingest('other', 'wamid.2', 'whatsapp.status.read', '{}', null, '2026-03-01 10:02Z');
select is(
  (select count(*)::int from hookline.deliveries d join hookline.events ev using (event_id) where ev.external_id = 'wamid.2'),
  0, 'a source filter and a non-matching pattern route nothing'
);
select hookline.ingest('other', 'wamid.3', 'whatsapp.message.image.caption', '{}', null, '2026-03-01 10:03Z');
select is(
  (select count(*)::int from hookline.deliveries d join hookline.events ev using (event_id) where ev.external_id = 'wamid.3'),
  1, 'a * segment matches several segments'
);

select * from finish();
rollback;
