begin;
select plan(3);

select throws_ok(
  $$select hookline.add_alert_receiver('ops', 'pagerduty', 'pagerduty', 'https://events.pagerduty.com/v2/enqueue', 'KEY')$$,
  'HL044', 'unknown tenant ''ops''', 'a tenant that does not exist is HL044 (it was a foreign key violation, 23503)'
);
insert into hookline.tenants (tenant_id, display_name) values ('ops', 'Operations');
select lives_ok(
  $$select hookline.add_alert_receiver('ops', 'pagerduty', 'pagerduty', 'https://events.pagerduty.com/v2/enqueue', 'KEY')$$,
  'once the tenant exists, the receiver is added'
);
select results_eq(
  $$select e.name, s.name from hookline.alert_receivers r join hookline.endpoints e using (endpoint_id) join hookline.sources s using (source_id)$$,
  $$values ('alert-pagerduty', 'ops-alerts')$$,
  'its endpoint and the tenant''s alerts source'
);

select * from finish();
rollback;
