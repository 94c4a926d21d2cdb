-- ingest_many stores a batch as hookline.ingest stores each of its events: new events once, a
-- key seen before (in an earlier call or earlier in the batch) a duplicate of the first, one
-- delivery per new event and subscribed endpoint, the optional columns where given; and in
-- one call of hookline._ingest for the whole batch (counted by the function statistics).
begin;
select plan(8);

set local track_functions = 'all';
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'https://crm.example.com/hook');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.OLD', 'whatsapp.message.text', '{"n": 0}', received_at => '2026-01-01 09:00Z');

create temp table got as
select * from hookline.ingest_many('wa',
  external_ids => array['wamid.A', 'wamid.OLD', 'wamid.B', 'wamid.A', 'wamid.C'],
  event_types => array['whatsapp.message.text', 'whatsapp.message.text', 'whatsapp.message.image', 'whatsapp.message.text', 'whatsapp.status.read'],
  payloads => array['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}']::jsonb[],
  occurred_ats => array['2026-01-01 09:59Z', null, null, null, null]::timestamptz[],
  received_at => '2026-01-01 10:00Z',
  phone_number_ids => array['1065', '1065', '1065', '1065', '1065'],
  traceparents => array['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', null, 'not a traceparent', null, null]);

select is((select array_agg(ord order by ord) from got), '{1,2,3,4,5}'::bigint[], 'one row per event, in input order');
select is((select array_agg(is_new order by ord) from got), '{t,f,t,f,t}'::boolean[],
  'new events, a key stored before and a key repeated in the batch');
select is((select event_id from got where ord = 4), (select event_id from got where ord = 1), 'the repeat is the first one''s event');
select is((select event_id from got where ord = 2), (select event_id from hookline.event_keys where external_id = 'wamid.OLD'),
  'the earlier key is its earlier event');
select is((select array_agg(payload->>'n' order by event_id) from hookline.events where received_at = '2026-01-01 10:00Z'),
  '{1,3,5}', 'three events stored, the first payload of each key');
select is((select count(*)::int from hookline.deliveries d join got g using (event_id) where g.is_new), 2,
  'one delivery per new event its endpoint subscribes to (not the status)');
select is((select array_agg(coalesce(traceparent, '-') || ' ' || coalesce(occurred_at::text, '-') || ' ' || phone_number_id order by event_id)
           from hookline.events where received_at = '2026-01-01 10:00Z'),
  array['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 2026-01-01 09:59:00+00 1065', '- - 1065', '- - 1065'],
  'the optional columns where given, a malformed traceparent dropped');
select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_ingest'), 2::bigint,
  'the batch in one call (and the single ingest before it)');

select * from finish();
rollback;
