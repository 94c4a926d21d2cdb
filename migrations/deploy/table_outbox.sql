-- Deploy hookline:table_outbox to pg
-- requires: table_senders
-- requires: type_outbox_state

BEGIN;

-- One row per outbound WhatsApp message, from send_message to its last status. Rows stay after
-- they are sent so that status webhooks can find them by wamid (or by the outbox id echoed in
-- biz_opaque_callback_data). Claim reads only the partial index of live rows, so its cost
-- follows the backlog, not the history.
--
-- Column order: fixed-width columns first (River's alignment order), text and jsonb last.
create table hookline.outbox (
  message_id bigint generated always as identity primary key,
  source_id bigint not null references hookline.sources (source_id),
  next_attempt_at timestamptz,
  last_claimed_at timestamptz,
  created_at timestamptz not null,
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  finished_at timestamptz,
  lease_token uuid,
  attempt_count integer not null default 0,
  throttle_count integer not null default 0,
  last_error_code integer,
  state hookline.outbox_state not null default 'queued',
  phone_number_id text not null references hookline.senders (phone_number_id),
  tenant_id text not null,
  idempotency_key text not null,
  recipient text not null,
  runner text,
  wamid text,
  last_error text,
  message jsonb not null,
  constraint outbox_idempotency_key_key unique (source_id, idempotency_key),
  constraint outbox_lease_iff_sending check ((state = 'sending') = (lease_token is not null and runner is not null)),
  constraint outbox_due_iff_waiting check (
    (next_attempt_at is not null) = (state in ('queued', 'sending', 'unconfirmed'))
  ),
  constraint outbox_finished_iff_final check ((finished_at is not null) = (state in ('failed', 'dead'))),
  constraint outbox_wamid_when_sent check (wamid is not null or state not in ('sent', 'delivered', 'read')),
  constraint outbox_counts_nonnegative check (attempt_count >= 0 and throttle_count >= 0),
  constraint outbox_message_is_object check (jsonb_typeof(message) = 'object')
);

-- Claim: the due live rows of a number, oldest first.
create index outbox_due_idx on hookline.outbox (phone_number_id, next_attempt_at)
  where next_attempt_at is not null;
-- The pair rate limit: recent claims of one recipient.
create index outbox_pair_idx on hookline.outbox (phone_number_id, recipient, last_claimed_at);
-- Status webhooks find their message by wamid.
create unique index outbox_wamid_key on hookline.outbox (wamid) where wamid is not null;

comment on table hookline.outbox is 'Outbound WhatsApp messages (the transactional outbox): written by send_message in the caller''s transaction, sent by runners, updated by status webhooks.';
comment on column hookline.outbox.message_id is 'Outbox id; sent as biz_opaque_callback_data (hookline:<id>) so a status webhook finds the message even when the send response was lost.';
comment on column hookline.outbox.source_id is 'The source (WhatsApp app) that sends it; scope of the idempotency key.';
comment on column hookline.outbox.next_attempt_at is 'When the message is next claimable (queued, unconfirmed), or the lease expiry (sending); null once sent or final.';
comment on column hookline.outbox.last_claimed_at is 'When the message was last claimed (sent); the pair rate limit counts these.';
comment on column hookline.outbox.created_at is 'When send_message wrote it.';
comment on column hookline.outbox.sent_at is 'When the Cloud API accepted it (or a status webhook first reported it).';
comment on column hookline.outbox.delivered_at is 'When a delivered status arrived.';
comment on column hookline.outbox.read_at is 'When a read status arrived.';
comment on column hookline.outbox.finished_at is 'When it became failed or dead.';
comment on column hookline.outbox.lease_token is 'Token of the current claim; complete_messages must present it. Null unless sending.';
comment on column hookline.outbox.attempt_count is 'Sends that counted as attempts (throttling and pauses do not).';
comment on column hookline.outbox.throttle_count is 'Pair rate limit answers (131056) so far; the next wait is 4^(n-1) seconds.';
comment on column hookline.outbox.last_error_code is 'Graph error.code of the last failure (null for HTTP or network failures).';
comment on column hookline.outbox.state is 'queued, sending, unconfirmed, sent, delivered, read, failed or dead (docs/outbound.md).';
comment on column hookline.outbox.phone_number_id is 'The business number it is sent from (hookline.senders).';
comment on column hookline.outbox.tenant_id is 'Owning tenant (for row level security).';
comment on column hookline.outbox.idempotency_key is 'The caller''s key; one message per (source, key).';
comment on column hookline.outbox.recipient is 'Phone number (sent as "to") or business-scoped user id (sent as "recipient"). Personal data.';
comment on column hookline.outbox.runner is 'Runner holding the lease. Null unless sending.';
comment on column hookline.outbox.wamid is 'The WhatsApp message id returned by the send (or learnt from a status webhook).';
comment on column hookline.outbox.last_error is 'Why the last attempt failed or the message is final: class, code and title (digits masked), never the message text.';
comment on column hookline.outbox.message is 'The message body as the Cloud API takes it ({"type": ..., "<type>": {...}}), without recipient or callback data. Personal data.';

COMMIT;
