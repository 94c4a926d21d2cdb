begin;
select plan(4);

-- dead_letter_page tells a replayable dead letter (replayable, has_event) from the events' day
-- partitions, as dead_letter_totals does (hookline._event_gone; only a dead letter outside
-- them is looked up): the same answer as looking up each event (replay's HL028 rule).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
update hookline.partition_policies set retention = interval '3 days' where table_name = 'events';
select hookline.premake_partitions(d) from generate_series('2026-03-02 12:00Z'::timestamptz, '2026-03-10 12:00Z', interval '1 day') d;

-- Feb 20: no day partition (the event sits in events_default), dead. Mar 3: dead. Mar 4:
-- discarded (its day is dropped). Mar 5: one dead (it holds the day), one discarded.
select hookline.ingest('wa', 'w-' || k, 'whatsapp.message.text', '{}', null, d)
from (values ('0', '2026-02-20 06:00Z'::timestamptz), ('3', '2026-03-03 06:00Z'), ('4', '2026-03-04 06:00Z'),
  ('5a', '2026-03-05 06:00Z'), ('5b', '2026-03-05 07:00Z')) v(k, d);
create temp table c as select * from hookline.claim('r1', 100, '30 seconds', '2026-03-06 00:00Z');
select hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', c.delivery_id, 'lease_token', c.lease_token, 'status_code', 404)) from c),
  '2026-03-06 00:00:01Z'
);
select hookline.discard(array(
  select l.delivery_id from hookline.dead_letters l
  where l.event_received_at in ('2026-03-04 06:00Z', '2026-03-05 07:00Z')), 'test');
select is(
  hookline.apply_retention('2026-03-10 10:00Z'),
  'dropped 4 partitions, 1 dedup keys, 0 job runs, 0 outbox messages; 2 days held by deliveries',
  'Mar 1, 2, 4 and 6 go; Mar 3 and 5 are held by their dead letters'
);
select ok(to_regclass('hookline.events_p20260304') is null and to_regclass('hookline.events_p20260305') is not null
  and to_regclass('hookline.events_p20260220') is null and exists (select from hookline.events_default),
  'the discarded Mar 4 dead letter lost its event; Mar 5''s day stays; Feb 20''s event is in events_default');

select results_eq(
  $$select delivery_id, has_event from hookline.dead_letter_page(page_size => null) order by 1$$,
  $$select l.delivery_id, exists (select from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at)
    from hookline.dead_letters l order by 1$$,
  'has_event: the same answer as a lookup of each event'
);
select results_eq(
  $$select delivery_id, has_event from hookline.dead_letter_page(page_size => null, replayable => true) order by 1$$,
  $$select l.delivery_id, true from hookline.dead_letters l
    where l.event_received_at not between '2026-03-04' and '2026-03-05' order by 1$$,
  'replayable keeps the four whose event is there (Feb 20''s in events_default), not Mar 4''s'
);

select * from finish();
rollback;
