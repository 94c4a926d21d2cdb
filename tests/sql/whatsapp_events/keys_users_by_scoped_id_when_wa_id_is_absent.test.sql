begin;
select plan(2);

create temp table body as select $json${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages",
  "value":{"metadata":{"phone_number_id":"P1"},
   "contacts":[{"profile":{"name":"A"},"user_id":"US.AAA"},{"profile":{"name":"B"},"user_id":"US.BBB","wa_id":"1555"}],
   "messages":[{"from_user_id":"US.AAA","id":"wamid.U1","timestamp":"1","type":"text","text":{"body":"x"}},
               {"from_user_id":"US.BBB","from":"1555","id":"wamid.U2","timestamp":"2","type":"reaction","reaction":{"message_id":"wamid.U1"}}]}}]}]}$json$::jsonb as b;

select results_eq(
  $$select external_id, event_type, user_id, wa_id from hookline.whatsapp_events((select b from body))$$,
  $$values ('wamid.U1', 'whatsapp.message.text', 'US.AAA', null::text), ('wamid.U2', 'whatsapp.message.reaction', 'US.BBB', '1555')$$,
  'users are keyed by the scoped id; a user with a username has no wa_id'
);
select is(
  (select payload from hookline.whatsapp_events((select b from body)) where external_id = 'wamid.U2'),
  $json${"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages",
   "value":{"metadata":{"phone_number_id":"P1"},
   "contacts":[{"profile":{"name":"B"},"user_id":"US.BBB","wa_id":"1555"}],
   "messages":[{"from_user_id":"US.BBB","from":"1555","id":"wamid.U2","timestamp":"2","type":"reaction","reaction":{"message_id":"wamid.U1"}}]}}]}]}$json$::jsonb,
  'the payload is the notification narrowed to the one item, its metadata and only its own contact'
);

select * from finish();
rollback;
