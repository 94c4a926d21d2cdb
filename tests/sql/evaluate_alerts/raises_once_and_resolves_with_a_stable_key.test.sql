begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme'), ('ops', 'Ops');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.add_alert_receiver('ops', 'pd', 'pagerduty', 'http://127.0.0.1:9/pd', 'KEY');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 3) i;
update hookline.alert_rules set threshold = 2 where rule_name = 'dlq_size';
update hookline.alert_rules set threshold = 1000 where rule_name = 'oldest_due';
select hookline.snapshot_stats('2026-03-01 10:05:00Z');

select is(
  hookline.evaluate_alerts('2026-03-01 10:05:10Z'),
  '0 raised, 0 resolved, 0 notifications queued, 0 undelivered',
  'nothing above its threshold: nothing raised'
);

update hookline.alert_rules set threshold = 100 where rule_name = 'oldest_due';
select is(
  hookline.evaluate_alerts('2026-03-01 10:05:20Z'),
  '1 raised, 0 resolved, 1 notifications queued, 0 undelivered',
  'the oldest due wait (300 s) above 100 raises one alert, queued for the receiver'
);
select is(
  hookline.evaluate_alerts('2026-03-01 10:05:30Z'),
  '0 raised, 0 resolved, 0 notifications queued, 0 undelivered',
  'a firing alert is not raised again'
);
select results_eq(
  $$select dedup_key, state from hookline.alerts$$,
  $$values ('oldest_due:crm/acme'::text, 'firing'::text)$$,
  'the dedup key is the rule and the series'' labels'
);
select results_eq(
  $$select e.event_type, e.payload->>'event_action', e.payload->>'dedup_key', e.payload #>> '{payload,severity}'
    from hookline.events e join hookline.sources s using (source_id) where s.name = 'ops-alerts'$$,
  $$values ('hookline.alert.pd'::text, 'trigger'::text, 'oldest_due:crm/acme'::text, 'critical'::text)$$,
  'a PagerDuty trigger event for the receiver'
);

update hookline.alert_rules set is_enabled = false where rule_name = 'oldest_due';
select is(
  hookline.evaluate_alerts('2026-03-01 10:05:40Z'),
  '0 raised, 1 resolved, 1 notifications queued, 0 undelivered',
  'a disabled rule''s alert resolves'
);
select results_eq(
  $$select e.payload from hookline.events e join hookline.sources s using (source_id)
    where s.name = 'ops-alerts' and e.payload->>'event_action' = 'resolve'$$,
  $$values ('{"routing_key": "KEY", "event_action": "resolve", "dedup_key": "oldest_due:crm/acme"}'::jsonb)$$,
  'the resolve carries the same dedup key and nothing else'
);

select * from finish();
rollback;
