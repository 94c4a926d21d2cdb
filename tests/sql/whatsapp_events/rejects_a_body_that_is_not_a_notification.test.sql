begin;
select plan(4);

select throws_ok(
  $$select * from hookline.whatsapp_events('[1, 2]')$$,
  'HL040', 'not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account"',
  'a JSON array is not a notification'
);
select throws_ok(
  $$select * from hookline.whatsapp_events('{"object":"page","entry":[]}')$$,
  'HL040', 'not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account"',
  'a Messenger page notification is not a WhatsApp one'
);
select throws_ok(
  $$select * from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":{"id":"W"}}')$$,
  'HL040', 'not a WhatsApp Business Account notification: "entry" must be an array',
  'entry must be an array'
);
select is_empty(
  $$select * from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[]}')$$,
  'an empty batch is a notification with no events'
);

select * from finish();
rollback;
