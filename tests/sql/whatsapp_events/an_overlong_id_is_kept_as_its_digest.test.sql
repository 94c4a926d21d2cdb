begin;
select plan(1);

select results_eq(
  $$select external_id from hookline.whatsapp_events(('{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages",
      "value":{"messages":[{"id":"' || repeat('x', 3000) || '","type":"text"},{"id":"wamid.ok","type":"text"}]}}]}]}')::jsonb)$$,
  array['sha256:' || encode(sha256(convert_to(repeat('x', 3000), 'UTF8')), 'hex'), 'wamid.ok'],
  'an id too long for the key index becomes its digest instead of refusing the batch'
);

select * from finish();
rollback;
