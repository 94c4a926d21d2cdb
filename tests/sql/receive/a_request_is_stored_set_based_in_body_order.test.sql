begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', 'whatsapp.message.*');

-- The same wamid twice in one batch, a status, and a change without items.
create temp table req as select
  '{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
    {"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
     "messages":[{"from":"1","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"a"}},
                 {"from":"2","id":"wamid.B","timestamp":"2","type":"text","text":{"body":"b"}},
                 {"from":"1","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"a"}}],
     "statuses":[{"id":"wamid.O","status":"sent","timestamp":"3","recipient_id":"1"}]}},
    {"field":"account_update","value":{"event":"X"}}]}]}'::text as t;

select results_eq(
  $$select event_count, new_event_count from hookline.receive('wa', (select t::jsonb from req), (select convert_to(t, 'UTF8') from req), '{}', '2026-03-01 10:00Z')$$,
  $$values (5, 4)$$,
  'a key twice in one request counts once'
);
select results_eq(
  $$select external_id, event_type, occurred_at from hookline.events order by event_id$$,
  $$values ('wamid.A', 'whatsapp.message.text', '1970-01-01 00:00:01Z'::timestamptz),
           ('wamid.B', 'whatsapp.message.text', '1970-01-01 00:00:02Z'),
           ('wamid.O:sent', 'whatsapp.status.sent', '1970-01-01 00:00:03Z'),
           ((select external_id from hookline.events where event_type = 'whatsapp.change.account_update'),
            'whatsapp.change.account_update', '2026-03-01 10:00Z')$$,
  'events in body order; without any time, occurred_at is the arrival'
);
select is(
  (select count(*)::int from hookline.deliveries), 2,
  'one delivery per new matching event'
);
select is(
  (select (event_count, new_event_count)::text from hookline.raw_requests), '(5,4)',
  'the raw request records the counts'
);

select * from finish();
rollback;
