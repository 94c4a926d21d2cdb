-- Deploy hookline:table_senders to pg
-- requires: table_sources

BEGIN;

-- One row per WhatsApp business phone number that sends: its credentials, its limits and the
-- state of its rate window. Column order: identity and owner first, configuration, then the
-- state claim and complete change, audit columns last.
create table hookline.senders (
  phone_number_id text primary key,
  source_id bigint not null references hookline.sources (source_id),
  tenant_id text not null,
  access_token text not null,
  messages_per_second integer not null default 80,
  pair_interval interval not null default interval '6 seconds',
  pair_burst integer not null default 1,
  unconfirmed_wait interval not null default interval '10 minutes',
  timeout_ms integer not null default 10000,
  retry_schedule interval[] not null default array[
    interval '5 seconds', interval '30 seconds', interval '2 minutes', interval '10 minutes', interval '30 minutes'
  ],
  state text not null default 'active',
  paused_reason text,
  throttled_until timestamptz,
  throttled_rate integer,
  window_started_at timestamptz,
  window_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint senders_phone_number_id_format check (phone_number_id ~ '^[0-9]{1,30}$'),
  constraint senders_access_token_present check (access_token ~ '^\S{8,}$'),
  constraint senders_messages_per_second_range check (messages_per_second between 1 and 10000),
  constraint senders_pair_interval_positive check (pair_interval > interval '0'),
  constraint senders_pair_burst_range check (pair_burst between 1 and 100),
  constraint senders_unconfirmed_wait_positive check (unconfirmed_wait > interval '0'),
  constraint senders_timeout_ms_range check (timeout_ms between 100 and 300000),
  constraint senders_retry_schedule_valid check (
    cardinality(retry_schedule) between 0 and 50 and array_position(retry_schedule, null) is null
    and interval '0' < all (retry_schedule)
  ),
  constraint senders_state_known check (state in ('active', 'paused')),
  constraint senders_paused_reason_iff_paused check ((paused_reason is not null) = (state = 'paused')),
  constraint senders_throttled_rate_range check (throttled_rate is null or throttled_rate between 1 and messages_per_second),
  constraint senders_window_count_nonnegative check (window_count >= 0)
);

create index senders_source_id_idx on hookline.senders (source_id);

comment on table hookline.senders is 'WhatsApp business phone numbers that send outbox messages: access token, limits, pause state and the current rate window.';
comment on column hookline.senders.phone_number_id is 'The Cloud API phone number id; the path segment of /{version}/{phone-number-id}/messages.';
comment on column hookline.senders.source_id is 'The source (WhatsApp app) the number belongs to; send_message names the source.';
comment on column hookline.senders.tenant_id is 'Owning tenant (the source''s).';
comment on column hookline.senders.access_token is 'System-user or business token sent as Authorization: Bearer. Never shown in views or logs.';
comment on column hookline.senders.messages_per_second is 'Most messages claimed per clock second for this number, across all runners (Meta: 80 by default, up to 1000; 20 for coexistence numbers).';
comment on column hookline.senders.pair_interval is 'The pair rate limit: one message to the same recipient per this interval (Meta: 6 s).';
comment on column hookline.senders.pair_burst is 'Messages to one recipient allowed within pair_interval * pair_burst (1: strictly one per pair_interval).';
comment on column hookline.senders.unconfirmed_wait is 'How long an ambiguous send (timeout, connection lost after sending) waits for a status webhook before it is sent again.';
comment on column hookline.senders.timeout_ms is 'Request timeout of a send in milliseconds; a claim''s lease is at least this plus one second.';
comment on column hookline.senders.retry_schedule is 'Delay before retry n after a transient failure; after the last one a failure is dead.';
comment on column hookline.senders.state is 'active, or paused (nothing is claimed): by an operator or by an account/auth error.';
comment on column hookline.senders.paused_reason is 'Why the number is paused; set iff paused.';
comment on column hookline.senders.throttled_until is 'After a sender throttling or maintenance answer, nothing of this number is claimed before this time.';
comment on column hookline.senders.throttled_rate is 'Reduced messages per second after throttling (halved per throttle, +1 per success back to messages_per_second); null when not reduced.';
comment on column hookline.senders.window_started_at is 'Start of the clock second whose claims window_count counts.';
comment on column hookline.senders.window_count is 'Messages claimed in the second starting at window_started_at.';
comment on column hookline.senders.created_at is 'When the sender was added.';
comment on column hookline.senders.updated_at is 'When the sender''s configuration or state last changed.';

COMMIT;
