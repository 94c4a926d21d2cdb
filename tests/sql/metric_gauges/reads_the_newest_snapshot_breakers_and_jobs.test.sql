begin;
select plan(12);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 3) i;
create temp table c as select * from hookline.claim('r1', 1, '30 seconds', '2026-03-01 10:00:10Z');
select hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 404)) from c),
  '2026-03-01 10:00:20Z'
);
-- An older minute with other figures: only the newest one counts.
select hookline.snapshot_stats('2026-03-01 09:59:30Z');
select hookline.snapshot_stats('2026-03-01 10:01:05Z');
select hookline.set_breaker((select 'endpoint:' || endpoint_id from hookline.endpoints where name = 'crm'), 'open', 'test', '2026-03-01 10:01:30Z');
insert into hookline.job_runs (job_name, scheduled_for, started_at, finished_at, status, run_by) values
  ('maintain_partitions', '2026-03-01 10:00Z', '2026-03-01 10:00Z', '2026-03-01 10:00:02Z', 'succeeded', 'r1'),
  ('maintain_partitions', '2026-03-01 10:15Z', '2026-03-01 10:15Z', '2026-03-01 10:15:01Z', 'failed', 'r1');

create temp table g as select * from hookline.metric_gauges('2026-03-01 10:02:00Z');

select results_eq(
  $$select labels->>'state', value from g where metric = 'hookline_queue_depth' and labels->>'endpoint' = 'crm' order by 1$$,
  $$values ('in_flight', 0::double precision), ('pending', 2), ('retrying', 0)$$,
  'queue depth by state from the newest snapshot'
);
select results_eq(
  $$select metric, labels, value from g where metric in ('hookline_dlq_size', 'hookline_oldest_due_seconds', 'hookline_stats_snapshot_age_seconds') order by 1$$,
  $$values ('hookline_dlq_size', '{"tenant": "acme", "endpoint": "crm"}'::jsonb, 1::double precision),
           ('hookline_oldest_due_seconds', '{"tenant": "acme", "endpoint": "crm"}', 60),
           ('hookline_stats_snapshot_age_seconds', '{}', 60)$$,
  'dead letters, the oldest due wait and the snapshot''s age'
);
select results_eq(
  $$select labels->>'kind', labels->>'state', value from g where metric = 'hookline_circuits' order by 1, 2$$,
  $$values ('endpoint', 'closed', 0::double precision), ('endpoint', 'half_open', 0), ('endpoint', 'open', 1),
           ('sender', 'closed', 0), ('sender', 'half_open', 0), ('sender', 'open', 0)$$,
  'breakers counted by kind and state, zero included'
);
select is(
  (select value from g where metric = 'hookline_endpoint_circuit_open' and labels->>'endpoint' = 'crm'),
  1::double precision, 'the open endpoint circuit is named'
);
select results_eq(
  $$select metric, value from g where labels->>'job_name' = 'maintain_partitions' and metric <> 'hookline_job_stale' order by 1$$,
  $$values ('hookline_job_last_run_failed', 1::double precision),
           ('hookline_job_last_success_timestamp_seconds', extract(epoch from timestamptz '2026-03-01 10:00:02Z')::double precision)$$,
  'the job''s last success and that its last run failed'
);

select is(
  (select value from hookline.metric_gauges(now() + interval '1 day')
   where metric = 'hookline_job_stale' and labels->>'job_name' = 'rescue_leases'),
  1::double precision, 'a minute job without a scheduled success for a day is stale (hookline.stale_jobs)'
);
select is(
  (select value from hookline.metric_gauges(now())
   where metric = 'hookline_job_stale' and labels->>'job_name' = 'apply_retention'),
  0::double precision, 'an hourly job deployed within the hour is not'
);
select is(
  (select count(*)::int from hookline.metric_gauges() where metric = 'hookline_dlq_replayed_deliveries'),
  0, 'no replay yet, no replayed-deliveries series'
);
select hookline.replay(array(select delivery_id from hookline.dead_letters), reason => 'handler fixed');
select is(
  (select value from hookline.metric_gauges()
   where metric = 'hookline_dlq_replayed_deliveries' and labels->>'tenant' = 'acme'),
  1::double precision, 'a replayed dead letter counts once, for its tenant (hookline.dlq_replay_counts)'
);

-- The replay's audit rows appended the count (a trigger); snapshot_stats folds a tenant's rows
-- into one, and the sum, a counter, never goes back.
insert into hookline.audit_log (action, tenant_id, target) values
  ('delivery.replay', 'acme', '{"count": 4}'), ('delivery.replay', 'acme', '{"count": 2}');
select is(
  (select count(*)::int from hookline.dlq_replay_counts where tenant_id = 'acme'), 2,
  'one row per tenant and statement that wrote replay rows'
);
select hookline.snapshot_stats('2026-03-01 10:03:05Z');
select is(
  (select count(*)::int from hookline.dlq_replay_counts where tenant_id = 'acme'), 1,
  'snapshot_stats folds a tenant''s rows into one'
);
select is(
  (select value from hookline.metric_gauges()
   where metric = 'hookline_dlq_replayed_deliveries' and labels->>'tenant' = 'acme'),
  7::double precision, 'the folded sum is the replays so far'
);

select * from finish();
rollback;
