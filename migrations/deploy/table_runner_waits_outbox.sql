-- Deploy hookline:table_runner_waits_outbox to pg
-- requires: table_runner_waits
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Outbound runners say they wait on channel hookline_outbox too (hookline.next_message_due),
-- so send_message, release_messages and resume_sender notify only when one waits
-- (hookline._wake). The check is replaced by a wider one in the same transaction: no moment
-- without it. runner_waits holds one row per channel (two at most), so the validating scan
-- under the ACCESS EXCLUSIVE lock is instant; a NOT VALID check plus VALIDATE would take the
-- same lock for the same scan.
-- squawk-ignore ban-drop-constraint
alter table hookline.runner_waits drop constraint runner_waits_channel_known;
-- The wider check replaces it at once (see above).
-- squawk-ignore constraint-missing-not-valid
alter table hookline.runner_waits add constraint runner_waits_channel_known
  check (channel in ('hookline_deliveries', 'hookline_outbox'));

comment on column hookline.runner_waits.channel is 'The LISTEN channel: hookline_deliveries (hookline.next_due) or hookline_outbox (hookline.next_message_due).';

insert into hookline.schema_changes (change) values ('table_runner_waits_outbox');

COMMIT;
