begin;
select plan(6);

-- The claim cursor (docs/delivery.md): a session's claims probe each endpoint from the first due
-- position its last claim saw; a row written behind it (by a transaction still open at that
-- claim) is found by the probe from the head, at least every second and before an empty answer.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 10);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.5', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:05Z');
select hookline.ingest('wa', 'wamid.6', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:06Z');
select hookline.ingest('wa', 'wamid.7', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:07Z');

select is((select event_received_at from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:10Z')),
  '2026-03-01 10:00:05Z', 'the oldest due delivery first');
-- As if written by a transaction that was open during that claim: behind its cursor.
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:01Z');
select is((select event_received_at from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:10.5Z')),
  '2026-03-01 10:00:06Z', 'within the second, the probe starts at the cursor: the row behind it waits');
select is((select event_received_at from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:11.5Z')),
  '2026-03-01 10:00:01Z', 'a second later the probe starts at the head again and finds it');
select is((select event_received_at from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:11.6Z')),
  '2026-03-01 10:00:07Z', 'then the rest, in order');
select hookline.ingest('wa', 'wamid.0', 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:00Z');
select is((select event_received_at from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:11.7Z')),
  '2026-03-01 10:00:00Z', 'when nothing is due past the cursor, the probe from the head runs before an empty answer');
select is_empty($$select * from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:00:11.8Z')$$,
  'nothing due: nothing claimed');

select * from finish();
rollback;
