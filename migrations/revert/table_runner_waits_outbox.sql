-- Revert hookline:table_runner_waits_outbox from pg

BEGIN;

set local lock_timeout = '5s';

-- The outbox row only says whether an outbound runner waits: without it nobody waits.
delete from hookline.runner_waits where channel = 'hookline_outbox';
alter table hookline.runner_waits drop constraint runner_waits_channel_known;
alter table hookline.runner_waits add constraint runner_waits_channel_known
  check (channel in ('hookline_deliveries'));

comment on column hookline.runner_waits.channel is 'The LISTEN channel (hookline_deliveries).';

delete from hookline.schema_changes where change = 'table_runner_waits_outbox';

COMMIT;
