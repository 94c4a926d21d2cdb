begin;
select plan(5);

-- A batch that holds a late answer of an earlier lease of a message and then the answer of the
-- current lease: the current one decides ("the first result of a message" took the late one,
-- so the message stayed sending until its lease expired and was sent again). The same for
-- release_messages. Found while writing a concurrency fuzz of the delivery functions
-- (complete and release had the same rule).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.send_message('wa', '+165055500' || i, '{"type": "text", "text": {"body": "hi"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 2) i;
create temp table first as select * from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z');
create temp table second as select * from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:01Z');
select is((select count(*)::int from second), 2, 'the expired leases are claimed again');

create temp table answered as
select * from hookline.complete_messages((
  select jsonb_agg(r order by o)
  from (
    select jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 400,
      'error_code', 131026, 'error_title', 'late') as r, 1 as o
    from first where message_id = (select min(message_id) from first)
    union all
    select jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 200, 'wamid', 'wamid.current'), 2
    from second where message_id = (select min(message_id) from second)
  ) x
), '2026-03-01 10:01:01Z');
select results_eq($$select outcome, count(*)::int from answered group by outcome$$, $$values ('sent', 1)$$,
  'the current answer is the one that counts');
select is((select (state, wamid)::text from hookline.outbox where message_id = (select min(message_id) from first)),
  '(sent,wamid.current)', 'the message is sent, with the current answer''s wamid');

select is((select count(*)::int from hookline.release_messages('r1', (
    select jsonb_agg(l order by o) from (
      select jsonb_build_object('message_id', message_id, 'lease_token', lease_token) as l, 1 as o
      from first where message_id = (select max(message_id) from first)
      union all
      select jsonb_build_object('message_id', message_id, 'lease_token', lease_token), 2
      from second where message_id = (select max(message_id) from second)) x),
    '2026-03-01 10:01:02Z')), 1,
  'release_messages: listed after an earlier lease, the current one is released');
select is((select state::text from hookline.outbox where message_id = (select max(message_id) from first)), 'queued',
  'queued again');

select * from finish();
rollback;
