-- Deploy hookline:index_outbox_sending to pg
-- requires: table_outbox
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- A number's unexpired leases (its messages sending, by lease end): claim_messages counts them
-- for a half-open breaker's probes and next_message_due for its room. Read from outbox_due_idx,
-- that count walked every message of the number due after now (retries and pair-limit waits
-- deferred into the future, a backlog after an outage) to find the few in flight; this index
-- holds the messages in flight only, as deliveries_in_flight_idx does for deliveries.
-- why: a partial index of the messages in flight; CONCURRENTLY cannot run inside the change's
-- transaction. The build reads the whole outbox (its sent history too): writes to the outbox
-- wait for it, about a second per million rows; deploy in a quiet minute
-- squawk-ignore require-concurrent-index-creation
create index outbox_sending_idx on hookline.outbox (phone_number_id, next_attempt_at)
  where state = 'sending';

insert into hookline.schema_changes (change) values ('index_outbox_sending');

COMMIT;
