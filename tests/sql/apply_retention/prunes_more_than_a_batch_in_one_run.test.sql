begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_sender('wa', '1555000', 'token-123');
-- 25,000 messages read long ago (more than two batches of 10,000) and one read recently.
insert into hookline.outbox (source_id, created_at, sent_at, read_at, state, phone_number_id, tenant_id,
  idempotency_key, recipient, wamid, message)
select s.source_id, '2026-01-01 10:00Z', '2026-01-01 10:00Z',
  case when i = 0 then '2026-02-14 10:00Z'::timestamptz else '2026-01-01 10:01Z' end,
  'read', '1555000', 'acme', 'k' || i, '+1555123' || i, 'wamid.' || i, '{"type": "text", "text": {"body": "x"}}'
from hookline.sources s cross join generate_series(0, 25000) i
where s.name = 'wa';

select alike(
  hookline.apply_retention('2026-02-15 00:00Z'),
  '%, 25000 outbox messages;%',
  'one run prunes every finished message older than 30 days, in batches'
);
select is((select array_agg(idempotency_key) from hookline.outbox), array['k0'],
  'the message read within 30 days stays (its last news counts, not its creation)');
select alike(hookline.apply_retention('2026-02-15 00:00Z'), '%, 0 outbox messages;%', 'a second run finds nothing');

select * from finish();
rollback;
