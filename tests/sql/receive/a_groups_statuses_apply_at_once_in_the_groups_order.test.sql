-- A group's statuses are applied at once (hookline._apply_message_statuses: one call for the
-- group, its failed statuses in one hookline._message_outcomes call, which counts them against
-- the breaker in one call), as one status at a time would apply them: two statuses of one
-- message in the group's order, never backwards, and a wamid learnt by one message only.
-- Counted by the function statistics of this transaction.
begin;
select plan(10);

set local track_functions = 'all';
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', retry_schedule => '{1 min, 1 min, 1 min, 1 min}');
select hookline.send_message('wa', '+165055500' || lpad(i::text, 2, '0'), '{"type": "text", "text": {"body": "hi"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 6) i;
-- k1, k2, k3 and k6 accepted; k4 and k5 timed out (unconfirmed, no wamid).
select hookline.complete_messages(jsonb_agg(case when o.idempotency_key in ('k4', 'k5')
    then jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'error_class', 'timeout')
    else jsonb_build_object('message_id', c.message_id, 'lease_token', c.lease_token, 'status_code', 200, 'wamid', 'wamid.' || o.idempotency_key) end),
  '2026-03-01 10:00:01Z')
from hookline.claim_messages('r1', 10, '30 seconds', '2026-03-01 10:00Z') c join hookline.outbox o using (message_id);

create function pg_temp.body(wamid text, status text, key text default null) returns text language sql as $$
  select jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
    'id', '102290129340398', 'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value', jsonb_build_object(
      'messaging_product', 'whatsapp', 'metadata', jsonb_build_object('phone_number_id', '1065'),
      'statuses', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('id', wamid, 'status', status, 'timestamp', '1749416501',
        'biz_opaque_callback_data', 'hookline:' || (select message_id from hookline.outbox where idempotency_key = key),
        'errors', case when status = 'failed' then jsonb_build_array(jsonb_build_object('code', 131000, 'title', 'Something went wrong')) end)))))))))::text
$$;
create temp table grp (n int, body text);
insert into grp values
  (1, pg_temp.body('wamid.k1', 'delivered')), (2, pg_temp.body('wamid.k1', 'read')),
  (3, pg_temp.body('wamid.k2', 'read')), (4, pg_temp.body('wamid.k2', 'delivered')),
  (5, pg_temp.body('wamid.k3', 'failed')), (6, pg_temp.body('wamid.k6', 'failed')),
  -- k4 and k5 by their outbox ids, both naming one wamid: k4 (first) learns it, k5 cannot.
  (7, pg_temp.body('wamid.X', 'sent', 'k4')), (8, pg_temp.body('wamid.X', 'delivered', 'k5'));
create temp table before as
select coalesce((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_breaker_results'), 0) as calls;

select is((select array_agg(r.new_event_count order by r.ord) from hookline.receive_many(
             (select array_agg('wa'::text order by n) from grp), (select array_agg(body order by n) from grp),
             (select array_agg(convert_to(body, 'UTF8') order by n) from grp),
             (select array_agg('{}'::jsonb order by n) from grp), received_at => '2026-03-01 10:00:02Z') r),
  '{1,1,1,1,1,1,1,1}', 'the group stores its eight statuses');
select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_apply_message_statuses'),
  1::bigint, 'one call applies the group''s statuses');
select is((select calls from pg_stat_xact_user_functions where schemaname = 'hookline' and funcname = '_breaker_results') - (select calls from before),
  1::bigint, 'two failed statuses: one count for the breaker');
select is((select window_failures from hookline.circuit_breakers where target = 'sender:1065'), 4,
  'which counts both (and the two timeouts before)');
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'read', 'delivered, then read: read');
select is((select state::text from hookline.outbox where idempotency_key = 'k2'), 'read', 'read, then delivered: still read');
select is((select array_agg(state::text || ' ' || attempt_count order by idempotency_key) from hookline.outbox where idempotency_key in ('k3', 'k6')),
  '{"queued 2","queued 2"}', 'the failed ones are sent again, the status counted as an attempt');
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k4'), 'sent wamid.X',
  'a message without wamid learns it from its status');
select is((select state::text || ' ' || coalesce(wamid, 'none') from hookline.outbox where idempotency_key = 'k5'), 'unconfirmed none',
  'not one that another message learnt in the same group');
select is((select read_at from hookline.outbox where idempotency_key = 'k1'), '2026-03-01 10:00:02Z'::timestamptz, 'read_at is the group''s time');

select * from finish();
rollback;
