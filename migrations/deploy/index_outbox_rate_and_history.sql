-- Deploy hookline:index_outbox_rate_and_history to pg
-- requires: table_outbox
-- requires: table_senders
-- requires: table_attempts
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- The per-number rate limit holds in every sliding second: claim_messages counts the claims
-- of the last second of a number (at most messages_per_second index entries).
-- A plain build holds off writes to the outbox for its length (about a second per million
-- rows); CONCURRENTLY cannot run inside the change's transaction. Deploy in a quiet minute.
-- squawk-ignore require-concurrent-index-creation
create index outbox_claimed_idx on hookline.outbox (phone_number_id, last_claimed_at)
  where last_claimed_at is not null;

-- Retention finds finished messages by the time they finished (their last news), without
-- reading the live outbox or the history it keeps.
-- As above: a plain build, writes to the outbox wait for it.
-- squawk-ignore require-concurrent-index-creation
create index outbox_finished_idx on hookline.outbox
  ((coalesce(finished_at, read_at, delivered_at, sent_at, created_at)))
  where next_attempt_at is null;

-- snapshot_stats reads the attempts of the last minute: attempts are appended in time order,
-- so a BRIN range index finds them at a cost that follows the minute, not the day.
-- A BRIN build reads the table once and writes a few pages; attempts' inserts wait for it.
-- squawk-ignore require-concurrent-index-creation
create index attempts_attempted_at_brin on hookline.attempts using brin (attempted_at)
  with (pages_per_range = 16);

comment on column hookline.senders.window_started_at is
  'Unused since the rate limit counts the claims of the last second (outbox_claimed_idx); kept so that the v0.1.0 verify script holds.';
comment on column hookline.senders.window_count is
  'Unused since the rate limit counts the claims of the last second (outbox_claimed_idx); kept so that the v0.1.0 verify script holds.';

insert into hookline.schema_changes (change) values ('index_outbox_rate_and_history');

COMMIT;
