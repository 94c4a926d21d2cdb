begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'sw', 'standard-webhooks', '{whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}');

select throws_ok(
  $$select * from hookline.receive('nope', '{}', '\x7b7d')$$,
  'HL001', 'unknown source ''nope''', 'an unknown source is HL001'
);
select throws_ok(
  $$select * from hookline.receive('wa', '{"object":"page"}', '\x00')$$,
  'HL040', null, 'a body that is not a WhatsApp notification is HL040'
);
select throws_ok(
  $$select * from hookline.receive('sw', '{"type":"invoice.paid"}', '\x00', '{}')$$,
  'HL041', 'a Standard Webhooks request needs a webhook-id header', 'a Standard Webhooks request without webhook-id is HL041'
);
select is(
  (select count(*)::int from hookline.raw_requests) + (select count(*)::int from hookline.events), 0,
  'nothing was stored by the failed calls'
);
select hookline.receive('sw', '{"type":"invoice.paid","data":{}}', '\x00', '{"webhook-id":"msg_1"}');
select results_eq(
  $$select external_id, event_type from hookline.events$$,
  $$values ('msg_1', 'invoice.paid')$$,
  'a Standard Webhooks request is one event keyed by webhook-id and typed by its type field'
);

select * from finish();
rollback;
