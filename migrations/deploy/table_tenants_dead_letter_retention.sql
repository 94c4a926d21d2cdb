-- Deploy hookline:table_tenants_dead_letter_retention to pg
-- requires: table_tenants
-- requires: table_dead_letters
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Dead letters hold their events' day partitions (apply_retention keeps a day a dead letter
-- points into), so without a limit of their own they hold them forever.
alter table hookline.tenants add column dead_letter_retention interval not null default interval '30 days',
  -- tenants is a configuration table (a row per tenant): checking it is short.
  -- squawk-ignore constraint-missing-not-valid
  add constraint tenants_dead_letter_retention_range check (dead_letter_retention >= interval '1 day');
comment on column hookline.tenants.dead_letter_retention is
  'How long the tenant''s dead letters (dead and discarded) are kept after they ended; the job prune_dead_letters deletes older ones (hookline.set_dead_letter_retention).';

insert into hookline.schema_changes (change) values ('table_tenants_dead_letter_retention');

COMMIT;
