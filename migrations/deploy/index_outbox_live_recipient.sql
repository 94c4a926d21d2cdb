-- Deploy hookline:index_outbox_live_recipient to pg
-- requires: table_outbox
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- claim_messages keeps a recipient's messages in their order: a candidate waits while an
-- older message of its recipient (and number) is queued. Through outbox_pair_idx that probe
-- read the recipient's whole history (every message ever sent to it, e.g. 20,000 for a chatty
-- recipient: about 8 ms per claim that had it among its candidates); this index holds the live
-- messages only (queued, sending, unconfirmed), by number, recipient and id.
-- why: a partial index of the live rows; CONCURRENTLY cannot run inside the change's
-- transaction. The build reads the whole outbox (its sent history too): writes to the outbox
-- wait for it, about a second per million rows; deploy in a quiet minute
-- squawk-ignore require-concurrent-index-creation
create index outbox_live_recipient_idx on hookline.outbox (phone_number_id, recipient, message_id)
  where next_attempt_at is not null;

insert into hookline.schema_changes (change) values ('index_outbox_live_recipient');

COMMIT;
