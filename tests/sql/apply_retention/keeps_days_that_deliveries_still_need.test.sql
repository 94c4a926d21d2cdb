begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
update hookline.partition_policies set retention = interval '3 days' where table_name = 'events';
select hookline.premake_partitions(d) from generate_series('2026-03-02 12:00Z'::timestamptz, '2026-03-10 12:00Z', interval '1 day') d;

-- Mar 1: delivered (succeeded). Mar 2: still pending. Mar 3: dead. Mar 4: discarded.
select hookline.ingest('wa', 'w-' || d::date, 'whatsapp.message.text', '{}', null, d + interval '6 hours')
from generate_series('2026-03-01'::timestamptz, '2026-03-04', interval '1 day') d;
create temp table c as select * from hookline.claim('r1', 100, '30 seconds', '2026-03-05 00:00Z');
select hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', c.delivery_id, 'lease_token', c.lease_token, 'status_code', s.code))
   from c join hookline.deliveries d using (delivery_id)
   join (values ('2026-03-01'::date, 200), ('2026-03-03', 404), ('2026-03-04', 404)) s(day, code)
     on (d.event_received_at at time zone 'UTC')::date = s.day),
  '2026-03-05 00:00:01Z'
);
select hookline.release(
  'r1',
  (select jsonb_agg(jsonb_build_object('delivery_id', c.delivery_id, 'lease_token', c.lease_token))
   from c join hookline.deliveries d using (delivery_id)),
  '2026-03-05 00:00:02Z'
);
select hookline.discard(array[(select delivery_id from hookline.dead_letters where (event_received_at at time zone 'UTC')::date = '2026-03-04')], 'test');

select results_eq(
  $$select (event_received_at at time zone 'UTC')::date, state::text from hookline.deliveries
    union all select (event_received_at at time zone 'UTC')::date, state::text from hookline.dead_letters order by 1$$,
  $$values ('2026-03-02'::date, 'pending'), ('2026-03-03', 'dead'), ('2026-03-04', 'discarded')$$,
  'the setting: Mar 2 pending, Mar 3 dead, Mar 4 discarded, Mar 1 delivered'
);
select is(
  hookline.apply_retention('2026-03-10 10:00Z'),
  'dropped 4 partitions, 2 dedup keys, 0 job runs, 0 outbox messages; 2 days held by deliveries',
  'Mar 1 and Mar 4 go with their empty neighbours; Mar 2 and Mar 3 are held'
);
select ok(to_regclass('hookline.events_p20260302') is not null, 'the pending delivery''s day stays');
select ok(to_regclass('hookline.events_p20260303') is not null, 'the dead letter''s day stays');
select is(
  (select count(*)::int from hookline.event_keys where received_at < '2026-03-05'),
  2,
  'the held days keep their dedup keys'
);
select ok(
  not (select is_new from hookline.ingest('wa', 'w-2026-03-02', 'whatsapp.message.text', '{}', null, '2026-03-10 10:01Z')),
  'so a re-delivery of a held event is still a duplicate'
);

select * from finish();
rollback;
