begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 2) i;
create temp table c as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
select hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 404)) from c), '2026-03-01 10:00:01Z');
select set_eq($$select hookline.discard((select array_agg(delivery_id) from hookline.deliveries) || (select array_agg(delivery_id) from hookline.dead_letters), 'spam', '2026-03-01 11:00Z')$$,
  $$select delivery_id from hookline.deliveries union all select delivery_id from hookline.dead_letters$$, 'discard takes live and dead ids');
select is_empty('select * from hookline.deliveries', 'the queue is empty');
select is((select array_agg(distinct (state, reason)::text) from hookline.dead_letters), array['(discarded,spam)'], 'both are discarded with the reason');
select throws_ok($$select hookline.discard(array[424242])$$, 'HL025', 'no live or dead delivery: 424242', 'an unknown id is HL025');
select is((select count(*)::int from hookline.replay((select array_agg(delivery_id) from hookline.dead_letters), '2026-03-01 12:00Z')), 2, 'discarded deliveries can be replayed');

select * from finish();
rollback;
