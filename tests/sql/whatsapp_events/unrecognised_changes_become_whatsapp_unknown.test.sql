begin;
select plan(4);

select results_eq(
  $$select event_type from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","time":1,"changes":[
      {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},
      {"field":"messages","value":{"metadata":{"phone_number_id":"P"},"brand_new_things":[{"x":1}]}}]}]}')$$,
  array['whatsapp.unknown', 'whatsapp.unknown'],
  'each change without messages, statuses or errors is one whatsapp.unknown event'
);
select results_eq(
  $$select event_type, external_id from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages",
      "value":{"messages":[{"id":"wamid.N","timestamp":"1","type":"poll_vote_2027","poll_vote_2027":{}}]}}]}]}')$$,
  $$values ('whatsapp.message.poll_vote_2027', 'wamid.N')$$,
  'a message type hookline has never seen keeps its own type name'
);
select is(
  (select count(*)::int from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W"}]}')),
  1,
  'an entry without changes is kept as whatsapp.unknown too'
);
select is(
  (select count(distinct external_id)::int from (
     select external_id from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"f","value":{"a":1}}]}]}')
     union all
     select external_id from hookline.whatsapp_events('{"entry":[{"changes":[{"value":{"a":1},"field":"f"}],"id":"W"}],"object":"whatsapp_business_account"}')
  ) x),
  1,
  'the same unknown change re-delivered has the same key, so it is stored once'
);

select * from finish();
rollback;
