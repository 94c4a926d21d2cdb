-- Deploy hookline:index_outbox_rate_and_history to pg
-- requires: table_outbox
-- requires: table_senders
-- requires: table_attempts

BEGIN;

-- The per-number rate limit holds in every sliding second: claim_messages counts the claims
-- of the last second of a number (at most messages_per_second index entries).
create index outbox_claimed_idx on hookline.outbox (phone_number_id, last_claimed_at)
  where last_claimed_at is not null;

-- Retention finds finished messages by the time they finished (their last news), without
-- reading the live outbox or the history it keeps.
create index outbox_finished_idx on hookline.outbox
  ((coalesce(finished_at, read_at, delivered_at, sent_at, created_at)))
  where next_attempt_at is null;

-- snapshot_stats reads the attempts of the last minute: attempts are appended in time order,
-- so a BRIN range index finds them at a cost that follows the minute, not the day.
create index attempts_attempted_at_brin on hookline.attempts using brin (attempted_at)
  with (pages_per_range = 16);

comment on column hookline.senders.window_started_at is
  'Unused since the rate limit counts the claims of the last second (outbox_claimed_idx); kept so that the v0.1.0 verify script holds.';
comment on column hookline.senders.window_count is
  'Unused since the rate limit counts the claims of the last second (outbox_claimed_idx); kept so that the v0.1.0 verify script holds.';

COMMIT;
