-- The messages a pair-limit answer (131056) defers with the answered one, as complete_messages
-- and receive_many's status groups lock them (hookline._pair_messages): the answered message's
-- recipient's queued and sending messages of the same number; not its finished ones, not the
-- recipient's messages of another number, not another recipient's. Inlined into its callers.
begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.add_sender('wa', '2065', 'EAAG-token-2');
create function pg_temp.id(k text) returns bigint language sql as
  $$ select message_id from hookline.outbox where idempotency_key = k $$;

-- k0: to +16505550001 from 1065, sent.
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k0', '1065', now => '2026-03-01 10:00Z');
select hookline.complete_messages(
  (select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token, 'status_code', 200, 'wamid', 'wamid.k0'))
   from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00Z')),
  '2026-03-01 10:00:01Z');
-- k1, k2: to the same recipient from 1065 (k1 claimed: sending; k2 held by the pair limit:
-- queued); k3: to the same recipient from 2065; k4: to another recipient from 1065.
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k1', '1065', now => '2026-03-01 10:01Z');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k2', '1065', now => '2026-03-01 10:01Z');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "hi"}}', 'k3', '2065', now => '2026-03-01 10:01Z');
select hookline.send_message('wa', '+16505550002', '{"type": "text", "text": {"body": "hi"}}', 'k4', '1065', now => '2026-03-01 10:01Z');
select count(*) from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:01Z');

select is((select array_agg(state::text order by idempotency_key) from hookline.outbox),
  '{sent,sending,queued,sending,sending}', 'the fixture: k0 sent, k1 sending, k2 queued, k3 and k4 sending');
select is(array(select m from hookline._pair_messages(array[pg_temp.id('k1')]) m order by m),
  array[pg_temp.id('k1'), pg_temp.id('k2')], 'the answered message and its recipient''s queued one, of its number');
select is(array(select m from hookline._pair_messages(array[pg_temp.id('k0'), pg_temp.id('k1'), pg_temp.id('k1')]) m order by m),
  array[pg_temp.id('k1'), pg_temp.id('k2')], 'each once, however often a recipient is named; a finished message is not one');
select is(array(select m from hookline._pair_messages(array[pg_temp.id('k4'), -1]) m order by m),
  array[pg_temp.id('k4')], 'another recipient''s: its own; an id that is no message adds nothing');
select is(array(select m from hookline._pair_messages('{}') m), '{}'::bigint[], 'no answers, no messages');

create function pg_temp.plan(q text) returns text language plpgsql as $$
declare
  v_line text;
  v_plan text := '';
begin
  for v_line in execute 'explain (costs off) ' || q loop
    v_plan := v_plan || v_line || E'\n';
  end loop;
  return v_plan;
end
$$;
select unalike(pg_temp.plan('select m from hookline._pair_messages(array[1::bigint]) m'), '%Function Scan on _pair_messages%',
  'inlined: the caller''s plan reads the outbox itself');

select * from finish();
rollback;
