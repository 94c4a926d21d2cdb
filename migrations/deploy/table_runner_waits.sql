-- Deploy hookline:table_runner_waits to pg
-- requires: schema_hookline
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- NOTIFY takes a global lock on the notification queue from the notify to the end of the
-- commit, so a writer that notifies in every transaction serialises all writers' commits.
-- Writers signal only when a runner has said it is waiting: a runner that finds no work sets
-- is_waiting (hookline.next_due), the first writer with new work clears it and notifies, and
-- the writers after it read false and do not notify. Unlogged: after a crash the table is empty,
-- which means "nobody waits" until a runner (it re-LISTENs and claims after a reconnect) asks.
create unlogged table hookline.runner_waits (
  channel text primary key,
  is_waiting boolean not null default false,
  changed_at timestamptz not null,
  constraint runner_waits_channel_known check (channel in ('hookline_deliveries'))
);

comment on table hookline.runner_waits is 'Per notification channel: whether a runner is waiting for a notification on it (writers notify only then).';
comment on column hookline.runner_waits.channel is 'The LISTEN channel (hookline_deliveries).';
comment on column hookline.runner_waits.is_waiting is 'Set by a runner that found no work (hookline.next_due); cleared by the writer that notifies.';
comment on column hookline.runner_waits.changed_at is 'When is_waiting last changed.';

insert into hookline.schema_changes (change) values ('table_runner_waits');

COMMIT;
