begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'sw', 'standard-webhooks', '{whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', '*');

-- A group of five: two messages in one WhatsApp body (the second with a sanitised string),
-- a Standard Webhooks request with a sanitised string, one with an empty list of them, a
-- WhatsApp retry of the first body's first message and a status without a time of its own.
create temp table answers as
select * from hookline.receive_many(
  array['wa', 'sw', 'sw', 'wa', 'wa'],
  array[$j${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
          "contacts":[{"profile":{"name":"A"},"wa_id":"111","user_id":"US.A"}],
          "messages":[{"from":"111","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"ok"}},
                      {"from":"111","id":"wamid.2","timestamp":"1700000001","type":"text","text":{"body":"b?d"}}]}}]}]}$j$,
        '{"type":"invoice.paid","note":"x?"}', '{"type":"Bad Type"}',
        $j${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
          "messages":[{"from":"111","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"ok"}}]}}]}]}$j$,
        $j${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P2"},
          "statuses":[{"id":"wamid.S","status":"sent","recipient_id":"222"}]}}]}]}$j$],
  array['\x01', '\x02', '\x03', '\x04', '\x05']::bytea[],
  array['{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}', '{"webhook-id": "msg_1"}',
        '{"webhook-id": "msg_2", "traceparent": "bad"}', '{}', '{}']::jsonb[],
  array['["/entry/0/changes/0/value/messages/1/text/body"]', '["/note"]', '[]', null, null]::jsonb[],
  received_at => '2026-03-01 10:00Z');

select results_eq(
  $$select ord, event_count, new_event_count, error_code from answers order by ord$$,
  $$values (1, 2, 2, null::text), (2, 1, 1, null), (3, 1, 1, null), (4, 1, 0, null), (5, 1, 1, null)$$,
  'every request counts its own events and new events'
);
select results_eq(
  $$select a.ord, e.external_id, e.event_type, e.phone_number_id, e.wa_id, e.occurred_at, e.sanitized, e.traceparent is not null
    from hookline.events e join answers a using (request_id) order by e.event_id$$,
  $$values (1, 'wamid.1', 'whatsapp.message.text', 'P1', '111', '2023-11-14 22:13:20Z'::timestamptz, null::text[], true),
           (1, 'wamid.2', 'whatsapp.message.text', 'P1', '111', '2023-11-14 22:13:21Z', array['/entry/0/changes/0/value/messages/0/text/body'], true),
           (2, 'msg_1', 'invoice.paid', null, null, '2026-03-01 10:00Z', array['/note'], false),
           (3, 'msg_2', 'unknown', null, null, '2026-03-01 10:00Z', null, false),
           (5, 'wamid.S:sent', 'whatsapp.status.sent', 'P2', '222', '2026-03-01 10:00Z', null, false)$$,
  'each event carries its own request, type, attributes, time, sanitised pointers and traceparent'
);
select results_eq(
  $$select r.body, r.event_count, r.new_event_count from hookline.raw_requests r join answers a using (request_id) order by a.ord$$,
  $$values ('\x01'::bytea, 2, 2), ('\x02', 1, 1), ('\x03', 1, 1), ('\x04', 1, 0), ('\x05', 1, 1)$$,
  'the raw requests store the same counts'
);
select is(
  (select count(*)::int from hookline.deliveries), 5, 'one delivery per new event'
);

select * from finish();
rollback;
