begin;
select plan(6);

create temp table body as select $json${"object":"whatsapp_business_account","entry":[
 {"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
   "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
   "contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234","user_id":"US.1349"}],
   "messages":[
     {"from":"16505551234","from_user_id":"US.1349","id":"wamid.T1","timestamp":"1749416383","type":"text","text":{"body":"h\u00e9llo"}},
     {"from":"16505551234","id":"wamid.I1","timestamp":"1749416390","type":"image","image":{"id":"1003","mime_type":"image/jpeg"}}]}}]},
 {"id":"WABA1","changes":[
   {"field":"messages","value":{"messaging_product":"whatsapp",
     "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
     "statuses":[
       {"id":"wamid.O1","status":"delivered","timestamp":"1749416400","recipient_id":"16505551234","recipient_user_id":"US.1349"},
       {"id":"wamid.O2","status":"failed","timestamp":"1749416401","recipient_id":"16505550000","errors":[{"code":131049,"title":"x"}]}]}},
   {"field":"messages","value":{"messaging_product":"whatsapp",
     "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
     "errors":[{"code":131000,"title":"Something went wrong"}]}}]}]}$json$::jsonb as b;

select results_eq(
  $$select event_type, external_id from hookline.whatsapp_events((select b from body))$$,
  $$values ('whatsapp.message.text', 'wamid.T1'), ('whatsapp.message.image', 'wamid.I1'),
           ('whatsapp.status.delivered', 'wamid.O1:delivered'), ('whatsapp.status.failed', 'wamid.O2:failed'),
           ('whatsapp.error', (select external_id from hookline.whatsapp_events((select b from body)) where event_type = 'whatsapp.error'))$$,
  'one event per message, status and error, in body order, keyed by wamid (and status)'
);
select matches(
  (select external_id from hookline.whatsapp_events((select b from body)) where event_type = 'whatsapp.error'),
  '^sha256:[0-9a-f]{64}$',
  'an error item, which has no id, is keyed by a digest'
);
select results_eq(
  $$select occurred_at from hookline.whatsapp_events((select b from body)) where external_id like 'wamid.%'$$,
  $$values ('2025-06-08 20:59:43Z'::timestamptz), ('2025-06-08 20:59:50Z'), ('2025-06-08 21:00:00Z'), ('2025-06-08 21:00:01Z')$$,
  'occurred_at is Meta''s Unix timestamp, not the arrival time'
);
select is(
  (select array_agg(distinct phone_number_id) from hookline.whatsapp_events((select b from body))),
  array['106540352242922'],
  'every event names the business phone number id'
);
select results_eq(
  $$select user_id, wa_id from hookline.whatsapp_events((select b from body)) where event_type like 'whatsapp.status.%'$$,
  $$values ('US.1349', '16505551234'), (null, '16505550000')$$,
  'a status names its recipient by scoped user id and wa_id when Meta sends them'
);
select is(
  (select count(*)::int from hookline.whatsapp_events((select b from body))
   where user_id = 'US.1349' and event_type like 'whatsapp.message.%'),
  2,
  'a message without from_user_id takes the user id of its contact'
);

select * from finish();
rollback;
