begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'sw', 'standard-webhooks', '{s}');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{"object":"whatsapp_business_account"}',
  '2026-03-01 09:59:58Z', '2026-03-01 10:00Z', phone_number_id => 'P1', user_id => 'US.1', wa_id => '1555');
select hookline.ingest('sw', 'msg_1', 'invoice.paid', '{"n":1}', null, '2026-03-01 10:00Z');

select is(
  (select b.body::jsonb from hookline.events e, hookline._delivery_body(e) b where e.external_id = 'wamid.1'),
  pg_catalog.jsonb_build_object(
    'id', 'evt_' || (select event_id from hookline.events where external_id = 'wamid.1'),
    'type', 'whatsapp.message.text', 'source', 'wa',
    'timestamp', '2026-03-01T09:59:58+00:00', 'occurred_at', '2026-03-01T09:59:58+00:00',
    'received_at', '2026-03-01T10:00:00+00:00',
    'whatsapp', '{"phone_number_id":"P1","user_id":"US.1","wa_id":"1555"}'::jsonb,
    'data', '{"object":"whatsapp_business_account"}'::jsonb),
  'a WhatsApp event: ids, times, source and the payload as data'
);
select is(
  (select b.body::jsonb from hookline.events e, hookline._delivery_body(e) b where e.external_id = 'msg_1')
    - 'id',
  '{"type":"invoice.paid","source":"sw","timestamp":"2026-03-01T10:00:00+00:00","occurred_at":null,
    "received_at":"2026-03-01T10:00:00+00:00","data":{"n":1}}'::jsonb,
  'another source: no whatsapp ids, the arrival time as timestamp'
);
update hookline.events set sanitized = '{/entry/0/id}' where external_id = 'wamid.1';
select is(
  (select b.body::jsonb->'sanitized' from hookline.events e, hookline._delivery_body(e) b where e.external_id = 'wamid.1'),
  '["/entry/0/id"]'::jsonb,
  'sanitised strings are named'
);
select is(
  (select pg_catalog.count(*) filter (where b.body is distinct from b.body::jsonb::text)
   from hookline.events e, hookline._delivery_body(e) b),
  0::bigint,
  'the body is the envelope as jsonb prints it: keys in its order, its spacing'
);
update hookline.events set user_id = E'a"b\\c\u00e9\n', wa_id = null, payload = '{"t": "\"x\u0001\\"}'
where external_id = 'wamid.1';
select is(
  (select b.body from hookline.events e, hookline._delivery_body(e) b where e.external_id = 'wamid.1'),
  (select b.body::jsonb::text from hookline.events e, hookline._delivery_body(e) b where e.external_id = 'wamid.1'),
  'strings that need escaping (quote, backslash, control characters, null ids) too'
);

create function pg_temp.explained() returns text language plpgsql as $f$
declare r text; t text := '';
begin
  for r in explain select (select b.body from hookline._delivery_body(e) b) from hookline.events e where e.event_id = 1 and e.received_at = now() loop t := t || r || E'\n'; end loop;
  return t;
end $f$;
select unalike(pg_temp.explained(), '%Function Scan%', 'the planner inlines it: a primary-key probe of the source, no function call');

select * from finish();
rollback;
