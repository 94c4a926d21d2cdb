begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_sender('wa', '1555000', 'token-123');
select hookline.send_message('wa', '+15551230001', '{"type": "text", "text": {"body": "old"}}', 'k-old', now => '2026-01-01 10:00Z');
select hookline.send_message('wa', '+15551230002', '{"type": "text", "text": {"body": "new"}}', 'k-new', now => '2026-01-30 10:00Z');
select hookline.send_message('wa', '+15551230003', '{"type": "text", "text": {"body": "queued"}}', 'k-queued', now => '2026-01-01 10:00Z');
-- Two are sent (one long ago, one recently); the third is still queued.
update hookline.outbox set state = 'sent', wamid = 'wamid.' || message_id, next_attempt_at = null,
  sent_at = created_at where idempotency_key in ('k-old', 'k-new');

select alike(
  hookline.apply_retention('2026-02-15 00:00Z'),
  '%, 1 outbox messages;%',
  'one finished message is older than 30 days'
);
select is(
  (select array_agg(idempotency_key order by idempotency_key) from hookline.outbox),
  array['k-new', 'k-queued'],
  'the recent one and the unfinished one stay'
);
select ok(
  hookline.send_message('wa', '+15551230001', '{"type": "text", "text": {"body": "old"}}', 'k-old', now => '2026-02-15 00:01Z')
    not in (select message_id from hookline.outbox where idempotency_key <> 'k-old'),
  'the pruned key makes a new message'
);

select * from finish();
rollback;
