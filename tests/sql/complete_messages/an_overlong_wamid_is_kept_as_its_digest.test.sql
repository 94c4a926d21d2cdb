begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '106540352242922', 'EAAG-token-1');
select hookline.send_message('wa', '+1650555123' || i, '{"type": "text", "text": {"body": "hi"}}', 'k' || i) from generate_series(1, 3) i;
create temp table c as select * from hookline.claim_messages('r1', 10, '30 seconds');
-- A wamid a btree entry cannot hold (about 2.7 kB; this does not compress). The Graph API's
-- are far shorter, but an answer (or a status webhook) with a longer one failed the
-- whole batch on outbox_wamid_key (54000): every answer of it unrecorded.
create temp table ids as select 'wamid.' || (select string_agg(md5(i::text), '') from generate_series(1, 100) i) as long;

\ir ../post_statuses.sql

select results_eq(
  $$select outcome from hookline.complete_messages(jsonb_build_array(
      jsonb_build_object('message_id', (select min(message_id) from c), 'lease_token', (select lease_token from c order by message_id limit 1), 'status_code', 200, 'wamid', (select long from ids)),
      jsonb_build_object('message_id', (select min(message_id) + 1 from c), 'lease_token', (select lease_token from c order by message_id offset 1 limit 1), 'error_class', 'timeout')))
    order by message_id$$,
  array['sent', 'unconfirmed'],
  'a batch with an overlong wamid is recorded'
);
select is((select wamid from hookline.outbox where idempotency_key = 'k1'),
  (select 'sha256:' || encode(sha256(convert_to(long, 'UTF8')), 'hex') from ids),
  'the message keeps the wamid''s SHA-256 digest');

select pg_temp.post(jsonb_build_array(jsonb_build_object('id', (select long from ids), 'status', 'delivered', 'timestamp', '1749416501')));
select is((select state::text from hookline.outbox where idempotency_key = 'k1'), 'delivered', 'a status naming the overlong wamid finds its message');

-- An unconfirmed message learns an overlong wamid from a status matched by its callback data.
select pg_temp.post(jsonb_build_array(jsonb_build_object('id', 'wamid.2' || (select long from ids), 'status', 'failed', 'timestamp', '1749416502',
  'biz_opaque_callback_data', 'hookline:' || (select min(message_id) + 1 from c),
  'errors', '[{"code": 131047, "title": "Re-engagement message"}]'::jsonb)));
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k2'),
  (select 'failed sha256:' || encode(sha256(convert_to('wamid.2' || long, 'UTF8')), 'hex') from ids),
  'and keeps its digest too');
select pg_temp.post(jsonb_build_array(jsonb_build_object('id', 'wamid.3' || (select long from ids), 'status', 'sent', 'timestamp', '1749416503',
  'biz_opaque_callback_data', 'hookline:' || (select max(message_id) from c))));
select is((select state::text || ' ' || wamid from hookline.outbox where idempotency_key = 'k3'),
  (select 'sent sha256:' || encode(sha256(convert_to('wamid.3' || long, 'UTF8')), 'hex') from ids),
  'as does a message still in flight that a sent status confirms');

select * from finish();
rollback;
