begin;
select plan(8);

-- A subscription, a delivery and a dead letter name their tenant beside their endpoint; the
-- two must agree (migration table_endpoint_tenant_keys), whoever writes the row: here the
-- owner, bypassing the functions, as a restore or a hand-written fix would.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme'), ('globex', 'Globex');
insert into hookline.sources (tenant_id, name, kind, signing_secrets)
values ('acme', 'acme-wa', 'whatsapp', '{s}'), ('globex', 'globex-wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'acme-crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_endpoint('globex', 'globex-crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('acme-crm', 'whatsapp.message.*');
select hookline.ingest('acme-wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');

select throws_ok(
  $$insert into hookline.subscriptions (tenant_id, endpoint_id, event_type_pattern)
    select 'acme', endpoint_id, '*' from hookline.endpoints where name = 'globex-crm'$$,
  '23503', null, 'a subscription of acme on globex''s endpoint is refused (acme''s events would go to globex''s handler)');
select throws_ok(
  $$update hookline.deliveries set endpoint_id = (select endpoint_id from hookline.endpoints where name = 'globex-crm')$$,
  '23503', null, 'acme''s delivery cannot be moved to globex''s endpoint');
select throws_ok(
  $$update hookline.deliveries set tenant_id = 'globex'$$,
  '23503', null, 'nor given to globex while it goes to acme''s endpoint');
select hookline.discard(array(select delivery_id from hookline.deliveries));
select throws_ok(
  $$update hookline.dead_letters set tenant_id = 'globex'$$,
  '23503', null, 'a dead letter''s tenant is its endpoint''s too');
select throws_ok(
  $$update hookline.endpoints set tenant_id = 'globex' where name = 'acme-crm'$$,
  '23503', null, 'an endpoint changes tenant only without rows that reference it');

-- What the functions write agrees, and removing an endpoint still takes its subscriptions.
select is((select count(*)::int from hookline.dead_letters d join hookline.endpoints e using (endpoint_id)
           where d.tenant_id = e.tenant_id), 1, 'the dead letter discard wrote is acme''s, on acme''s endpoint');
delete from hookline.dead_letters;
select lives_ok($$select hookline.remove_endpoint('acme-crm')$$, 'an endpoint without live work or dead letters goes');
select is_empty($$select from hookline.subscriptions s join hookline.tenants t using (tenant_id) where t.tenant_id = 'acme'$$,
  'with its subscriptions (on delete cascade, as before)');

select * from finish();
rollback;
