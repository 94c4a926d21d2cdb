begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');

create temp table req as select
  '{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},"contacts":[{"wa_id":"1555","user_id":"US.1"}],"messages":[{"from":"1555","id":"wamid.R1","timestamp":"1749416383","type":"text","text":{"body":"\u00e4"}},{"from":"1555","id":"wamid.R2","timestamp":"1749416384","type":"location","location":{"latitude":1.5,"longitude":2}}]}}]}]}'::text as t;

select results_eq(
  $$select event_count, new_event_count from hookline.receive('wa', (select t::jsonb from req), (select convert_to(t, 'UTF8') from req), '{"content-type": "application/json"}', '2026-03-01 10:00Z')$$,
  $$values (2, 2)$$,
  'the first delivery creates one event per message'
);
select results_eq(
  $$select event_count, new_event_count from hookline.receive('wa', (select t::jsonb from req), (select convert_to(t, 'UTF8') from req), '{}', '2026-03-02 10:00Z')$$,
  $$values (2, 0)$$,
  'a re-delivery the next day creates none'
);
select is((select count(*)::int from hookline.events), 2, 'two events in all');
select results_eq(
  $$select body = (select convert_to(t, 'UTF8') from req), event_count, new_event_count from hookline.raw_requests order by received_at$$,
  $$values (true, 2, 2), (true, 2, 0)$$,
  'every request is kept byte for byte, with what it yielded'
);
select results_eq(
  $$select e.phone_number_id, e.user_id, e.wa_id, e.request_id = r.request_id, e.occurred_at
    from hookline.events e join hookline.raw_requests r on r.received_at = '2026-03-01 10:00Z' order by e.external_id$$,
  $$values ('P1', 'US.1', '1555', true, '2025-06-08 20:59:43Z'::timestamptz), ('P1', 'US.1', '1555', true, '2025-06-08 20:59:44Z')$$,
  'events carry the WhatsApp attributes and the request they came from'
);

select * from finish();
rollback;
