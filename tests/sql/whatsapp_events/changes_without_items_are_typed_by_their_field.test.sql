begin;
select plan(7);

select results_eq(
  $$select event_type, occurred_at from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","time":1739321024,"changes":[
      {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},
      {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1,"message_template_name":"t","message_template_language":"en_US"}},
      {"field":"messages","value":{"metadata":{"phone_number_id":"P"},"brand_new_things":[{"x":1}]}},
      {"value":{"a":1}}]}]}')$$,
  $$values ('whatsapp.change.account_update', '2025-02-12 00:43:44Z'::timestamptz),
           ('whatsapp.change.message_template_status_update', '2025-02-12 00:43:44Z'),
           ('whatsapp.change.messages', '2025-02-12 00:43:44Z'),
           ('whatsapp.unknown', '2025-02-12 00:43:44Z')$$,
  'each change without items is one event typed by its field (whatsapp.unknown without one), at entry.time'
);
select results_eq(
  $$select event_type, occurred_at from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
      {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}')$$,
  $$values ('whatsapp.change.account_update', null::timestamptz)$$,
  'without entry.time the time is left to the caller (receive uses the arrival time)'
);
select is(
  (select count(distinct external_id)::int from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[
      {"id":"W","time":1,"changes":[{"field":"account_update","value":{"event":"X"}}]},
      {"id":"W","time":2,"changes":[{"field":"account_update","value":{"event":"X"}}]}]}')),
  2,
  'the same update at two times is two occurrences'
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
  'an entry without changes is kept as whatsapp.unknown'
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

select results_eq(
  $$select event_type, external_id like 'sha256:%', user_id, wa_id, payload #>> '{entry,0,changes,0,value,messages,0,image,id}'
    from hookline.whatsapp_events('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"history",
      "value":{"metadata":{"phone_number_id":"P"},"messages":[{"from":"16505551234","id":"wamid.H","timestamp":"1738796547",
        "type":"image","image":{"id":"24230790383178626"}}]}}]}]}')$$,
  $$values ('whatsapp.change.history', true, null::text, null::text, '24230790383178626')$$,
  'a history change is kept whole even with messages in its value (the media of past chats): not a live message'
);

select * from finish();
rollback;
