begin;
select plan(3);

-- A batch of 200 messages with a string sanitised in each: every pointer is rebased once (the
-- calls of hookline._whatsapp_pointer in this transaction, counted by track_functions), not
-- tried against every event of the body (200 x 200 calls, quadratic: a batch of 1000 took
-- longer than the ingress's statement timeout, and every retry failed alike).
set local track_functions = 'all';
create temp table body as
select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
  'id', 'W', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
    'metadata', jsonb_build_object('phone_number_id', 'P'),
    'contacts', (select jsonb_agg(jsonb_build_object('user_id', 'US.' || i, 'profile', jsonb_build_object('name', 'N?')))
                 from generate_series(0, 199) i),
    'messages', (select jsonb_agg(jsonb_build_object('id', 'wamid.' || i, 'from_user_id', 'US.' || i, 'timestamp', '1',
                                                     'type', 'text', 'text', jsonb_build_object('body', 'b?')))
                 from generate_series(0, 199) i))))))) as b;
create temp table ptrs as
select array_agg(p order by p) as p from (
  select '/entry/0/changes/0/value/messages/' || i || '/text/body' from generate_series(0, 199) i
  union all select '/entry/0/changes/0/value/contacts/' || i || '/profile/name' from generate_series(0, 199) i) x (p);
create temp table ev as
select * from hookline.whatsapp_events((select b from body), (select p from ptrs));

select cmp_ok(
  (select sum(pg_stat_get_xact_function_calls(p.oid))::int from pg_proc p
   where p.proname = '_whatsapp_pointer' and p.pronamespace = 'hookline'::regnamespace),
  '<=', 2 * 400,
  'each of the 400 pointers is rebased at most twice (whole and narrowed), not once per event'
);
select is(
  (select count(*)::int from ev
   where sanitized_fields = array['/entry/0/changes/0/value/contacts/0/profile/name', '/entry/0/changes/0/value/messages/0/text/body']),
  200,
  'every event names its own message''s and its own contact''s sanitised strings'
);
select is(
  (select count(*)::int from ev e
   where e.payload #>> '{entry,0,changes,0,value,contacts,0,user_id}' = e.payload #>> '{entry,0,changes,0,value,messages,0,from_user_id}'),
  200,
  'and carries that contact'
);

select * from finish();
rollback;
