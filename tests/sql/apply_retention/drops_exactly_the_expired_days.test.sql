begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
update hookline.partition_policies set retention = interval '3 days' where table_name = 'events';
-- Partitions for Jan 28 .. Feb 7 (a month boundary inside), one event on each day to Feb 5.
select hookline.premake_partitions(d) from generate_series('2026-01-29 12:00Z'::timestamptz, '2026-02-04 12:00Z', interval '1 day') d;
select hookline.ingest('wa', 'w-' || d::date, 'whatsapp.message.text', '{}', null, d + interval '6 hours')
from generate_series('2026-01-28'::timestamptz, '2026-02-05', interval '1 day') d;

-- On Feb 5 at 10:00 with 3 days' retention, every day that ended by Feb 2 10:00 goes:
-- Jan 28 to Feb 1.
select is(
  hookline.apply_retention('2026-02-05 10:00Z'),
  'dropped 5 partitions, 5 dedup keys, 0 job runs, 0 outbox messages; 0 days held by deliveries',
  'the summary counts what went'
);
select is(
  (select array_agg(c.relname::text order by c.relname) from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'hookline.events'::regclass and c.relname < 'events_p20260301'),
  array['events_default', 'events_p20260202', 'events_p20260203', 'events_p20260204', 'events_p20260205',
        'events_p20260206', 'events_p20260207'],
  'Jan 28 to Feb 1 are gone; Feb 2 onwards and the default partition stay'
);
select is(
  (select min(received_at) from hookline.events),
  '2026-02-02 06:00Z'::timestamptz,
  'the oldest event left is Feb 2''s'
);
select is(
  (select count(*)::int from hookline.event_keys where received_at < '2026-02-02'),
  0,
  'the dedup keys of dropped events are gone'
);
select is(
  hookline.apply_retention('2026-02-05 10:00Z'),
  'dropped 0 partitions, 0 dedup keys, 0 job runs, 0 outbox messages; 0 days held by deliveries',
  'a second run finds nothing to do'
);

select * from finish();
rollback;
