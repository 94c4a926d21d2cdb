-- Included (\ir) by the tests that post status webhooks of number 106540352242922 through
-- source 'wa'; not a test itself (test_pgtap.py runs *.test.sql only).
-- pg_temp.statuses(items): a notification with those value.statuses; pg_temp.post(items):
-- hookline.receive of it.
create function pg_temp.statuses(items jsonb) returns jsonb language sql as $$
  select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '106540352242922'),
      'statuses', items))))))
$$;
create function pg_temp.post(items jsonb) returns void language sql as $$
  select from hookline.receive('wa', pg_temp.statuses(items), convert_to(pg_temp.statuses(items)::text, 'UTF8'))
$$;
