begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_endpoint('acme', 'idle', 'http://127.0.0.1:9/idle');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 6) i;
create temp table c as select row_number() over (order by delivery_id) as n, * from hookline.claim('r1', 4, '30 seconds', '2026-03-01 10:00:10Z');
-- 1 succeeds, 2 retries (500), 3 is dead (404), 4 stays in flight; 5 and 6 stay pending.
select hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', code))
   from c join (values (1, 200), (2, 500), (3, 404)) r(n, code) using (n)),
  '2026-03-01 10:00:20Z'
);

select is(
  hookline.snapshot_stats('2026-03-01 10:01:05Z'),
  '2 endpoint rows for 2026-03-01 10:01:00+00',
  'one row per endpoint for the minute'
);
select results_eq(
  $$select e.name, s.pending_count, s.in_flight_count, s.retrying_count, s.dead_count, s.succeeded_count, s.failed_count, s.oldest_due_seconds
    from hookline.stats_snapshots s join hookline.endpoints e using (endpoint_id) order by e.name$$,
  $$values ('crm'::text, 2, 1, 1, 1, 1, 2, 60::double precision), ('idle', 0, 0, 0, 0, 0, 0, null)$$,
  'depth by state, the DLQ, the minute''s attempts and the oldest due wait (pending since 10:00)'
);
select is(
  hookline.snapshot_stats('2026-03-01 10:01:59Z'),
  '0 endpoint rows for 2026-03-01 10:01:00+00',
  'a minute is written once'
);

select * from finish();
rollback;
