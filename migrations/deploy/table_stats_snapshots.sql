-- Deploy hookline:table_stats_snapshots to pg
-- requires: table_partition_policies
-- requires: table_endpoints

BEGIN;

create table hookline.stats_snapshots (
  taken_at timestamptz not null,
  endpoint_id bigint not null,
  tenant_id text not null,
  pending_count integer not null,
  in_flight_count integer not null,
  retrying_count integer not null,
  dead_count integer not null,
  succeeded_count integer not null,
  failed_count integer not null,
  oldest_due_seconds double precision,
  constraint stats_snapshots_pkey primary key (taken_at, endpoint_id),
  constraint stats_snapshots_counts_nonnegative check (
    least(pending_count, in_flight_count, retrying_count, dead_count, succeeded_count, failed_count) >= 0
  )
) partition by range (taken_at);

create table hookline.stats_snapshots_default partition of hookline.stats_snapshots default;

comment on table hookline.stats_snapshots is 'One row per endpoint per minute, written by the snapshot_stats job: queue depth by state, age of the oldest due delivery, and the minute''s attempts. For dashboards and alerts; partitioned by day, kept 14 days.';
comment on table hookline.stats_snapshots_default is 'Rows whose day had no partition yet; maintain_partitions moves them out.';
comment on column hookline.stats_snapshots.taken_at is 'The minute the snapshot describes (its end); the partition key.';
comment on column hookline.stats_snapshots.endpoint_id is 'The endpoint (hookline.endpoints).';
comment on column hookline.stats_snapshots.tenant_id is 'The endpoint''s tenant.';
comment on column hookline.stats_snapshots.pending_count is 'Deliveries pending at taken_at.';
comment on column hookline.stats_snapshots.in_flight_count is 'Deliveries in flight (leased) at taken_at.';
comment on column hookline.stats_snapshots.retrying_count is 'Deliveries waiting for a retry at taken_at.';
comment on column hookline.stats_snapshots.dead_count is 'Dead deliveries in the dead-letter queue at taken_at.';
comment on column hookline.stats_snapshots.succeeded_count is 'Attempts that succeeded in the minute before taken_at.';
comment on column hookline.stats_snapshots.failed_count is 'Attempts that failed (to retry or dead) in the minute before taken_at.';
comment on column hookline.stats_snapshots.oldest_due_seconds is 'How long the oldest due pending or retrying delivery has waited past its time; null when none is due.';

insert into hookline.partition_policies (table_name, premake_days, retention)
values ('stats_snapshots', 3, interval '14 days');

COMMIT;
