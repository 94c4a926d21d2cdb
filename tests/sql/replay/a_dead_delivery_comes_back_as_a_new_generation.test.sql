begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z');
create temp table c as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00Z');
select hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 400)) from c), '2026-03-01 10:00:01Z');
select is((select state::text from hookline.dead_letters), 'dead', 'a 400 is dead');
select is(hookline.replay(array[(select delivery_id from c)], '2026-03-02 08:00Z'), (select delivery_id from c), 'replay returns the id');
select is((select (state, generation, attempt_count, next_attempt_at)::text from hookline.deliveries), '(pending,2,0,"2026-03-02 08:00:00+00")', 'pending again, generation 2, due now');
select is_empty('select * from hookline.dead_letters', 'and out of the DLQ');
create temp table c2 as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-02 08:00Z');
select is((select (webhook_id, attempt, generation)::text from c2), '(' || (select webhook_id from c) || ',1,2)', 'same webhook-id, attempt 1 of generation 2');
select throws_ok($$select hookline.replay(array[424242])$$, 'HL025', 'not in the dead-letter queue: 424242', 'replaying what is not dead is HL025');
select throws_ok($$select hookline.replay(array[(select delivery_id from c)])$$, 'HL025', null, 'a live delivery cannot be replayed');

select * from finish();
rollback;
