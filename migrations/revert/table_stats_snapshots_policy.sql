-- Revert hookline:table_stats_snapshots_policy from pg

BEGIN;

drop policy stats_snapshots_tenant_isolation on hookline.stats_snapshots;
alter table hookline.stats_snapshots no force row level security;
alter table hookline.stats_snapshots disable row level security;

COMMIT;
