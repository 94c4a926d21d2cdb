-- Deploy hookline:table_partition_policies to pg
-- requires: schema_hookline

BEGIN;

create table hookline.partition_policies (
  table_name text primary key,
  premake_days integer not null default 3,
  retention interval not null default interval '30 days',
  constraint partition_policies_table_name_format check (table_name ~ '^[a-z][a-z0-9_]{0,40}$'),
  constraint partition_policies_premake_days_range check (premake_days between 1 and 60),
  constraint partition_policies_retention_positive check (retention >= interval '1 day')
);

comment on table hookline.partition_policies is 'Tables of the hookline schema that are range-partitioned by day: how many days ahead partitions are made and how long they are kept.';
comment on column hookline.partition_policies.table_name is 'Name of a partitioned table in schema hookline; its partitions are <table>_pYYYYMMDD and <table>_default.';
comment on column hookline.partition_policies.premake_days is 'How many days ahead of today partitions are created.';
comment on column hookline.partition_policies.retention is 'How long a day partition is kept after its day ended.';

COMMIT;
