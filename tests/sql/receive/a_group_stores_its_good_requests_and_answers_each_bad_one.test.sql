begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'sw', 'standard-webhooks', '{whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', '*');

create function pg_temp.text_message(wamid text) returns text language sql as $$
  select format('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P"},"messages":[{"id":"%s","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}', wamid)
$$;

-- One group: good requests of two sources and kinds, a key twice (a retry in the same
-- group), an unknown source, a body that is no JSON, one that is not a notification, a
-- Standard Webhooks request without webhook-id and one whose body is JSON null.
create temp table answers as
select * from hookline.receive_many(
  array['wa', 'nope', 'wa', 'wa', 'sw', 'wa', 'sw', 'wa', 'sw'],
  array[pg_temp.text_message('wamid.A'), pg_temp.text_message('wamid.X'), '{"object": "page"}', '{not json',
        '{"type":"invoice.paid"}', pg_temp.text_message('wamid.A'), '{"type":"invoice.paid"}',
        pg_temp.text_message('wamid.B'), 'null'],
  array['\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07', '\x08', '\x09']::bytea[],
  array['{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}', '{}', '{}', '{}',
        '{"webhook-id": "msg_1"}', '{}', '{}', '{}', '{"webhook-id": "msg_2"}']::jsonb[],
  received_at => '2026-03-01 10:00Z');

select results_eq(
  $$select ord, event_count, new_event_count, error_code from answers order by ord$$,
  $$values (1, 1, 1, null::text), (2, null, null, 'HL001'), (3, null, null, 'HL040'), (4, null, null, '22P02'),
           (5, 1, 1, null), (6, 1, 0, null), (7, null, null, 'HL041'), (8, 1, 1, null), (9, null, null, 'HL002')$$,
  'each request gets its own answer: stored (a key twice in a group counts once, first) or its error'
);
select is(
  (select error_message from answers where ord = 2), 'unknown source ''nope''',
  'an error carries the message hookline.receive raises'
);
select results_eq(
  $$select r.body from hookline.raw_requests r join answers a using (request_id) order by a.ord$$,
  $$values ('\x01'::bytea), ('\x05'), ('\x06'), ('\x08')$$,
  'the raw request of every stored request, of none that failed'
);
select results_eq(
  $$select external_id, traceparent is not null from hookline.events order by event_id$$,
  $$values ('wamid.A', true), ('msg_1', false), ('wamid.B', false)$$,
  'the events of the group in input order, each with its own request''s traceparent'
);
select is(
  (select count(*)::int from hookline.deliveries), 3, 'one delivery per new event'
);
select throws_ok(
  $$select * from hookline.receive_many(array['wa'], array['{}', '{}'], array['\x00']::bytea[], array['{}']::jsonb[])$$,
  'HL002', null, 'arrays of different lengths fail the whole call'
);

select * from finish();
rollback;
