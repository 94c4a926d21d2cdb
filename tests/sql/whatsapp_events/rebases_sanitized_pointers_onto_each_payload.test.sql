begin;
select plan(3);

create temp table body as select $json${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
  {"field":"messages","value":{"metadata":{"phone_number_id":"P1","display_phone_number":"x?"},
   "contacts":[{"profile":{"name":"B?"},"user_id":"US.B"},{"profile":{"name":"A"},"user_id":"US.A"}],
   "messages":[{"from_user_id":"US.A","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"ok"}},
               {"from_user_id":"US.B","id":"wamid.2","timestamp":"2","type":"text","text":{"body":"b?d"}}]}},
  {"field":"account_update","value":{"event":"x?"}}]}]}$json$::jsonb as b;
create temp table ev as select * from hookline.whatsapp_events((select b from body),
  array['/entry/0/changes/0/value/metadata/display_phone_number', '/entry/0/changes/0/value/contacts/0/profile/name',
        '/entry/0/changes/0/value/messages/1/text/body', '/entry/0/changes/1/value/event']);

select results_eq(
  $$select external_id, sanitized_fields from ev order by external_id$$,
  $$values ('sha256:' || (select encode(sha256(convert_to(jsonb_build_array('{"id":"W"}'::jsonb, (select b->'entry'->0->'changes'->1 from body))::text, 'UTF8')), 'hex')),
            array['/entry/0/changes/0/value/event']),
           ('wamid.1', array['/entry/0/changes/0/value/metadata/display_phone_number']),
           ('wamid.2', array['/entry/0/changes/0/value/contacts/0/profile/name',
                             '/entry/0/changes/0/value/messages/0/text/body',
                             '/entry/0/changes/0/value/metadata/display_phone_number'])$$,
  'each event names the changed strings of its own payload: shared metadata, its contact, its item'
);
select is(
  (select payload #>> '{entry,0,changes,0,value,contacts,0,user_id}' from ev where external_id = 'wamid.2'),
  'US.B',
  'the pointer into contacts/0 is the contact the event carries'
);
select results_eq(
  $$select external_id from hookline.whatsapp_events($j${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages",
      "value":{"metadata":{"phone_number_id":"P"},"contacts":[{"profile":{"name":"G"},"wa_id":"521555","user_id":"MX.1"}],
      "statuses":[{"id":"wamid.G","status":"read","timestamp":"3","recipient_id":"1203","recipient_type":"group","recipient_participant_id":"5215550"}]}}]}]}$j$::jsonb)
    where payload #>> '{entry,0,changes,0,value,contacts,0,user_id}' = 'MX.1'$$,
  array['wamid.G:read:5215550'],
  'a group receipt is keyed by its reader; a change''s only contact goes with its only item even when the numbers are written differently'
);

select * from finish();
rollback;
