create or replace function hookline._wake_runners()
returns void
language sql
set search_path = ''
as $$
  select hookline._wake('hookline_deliveries')
$$;

comment on function hookline._wake_runners() is
  'Private, for writers that make deliveries due (ingest, release, rescue_leases): hookline._wake on channel hookline_deliveries (notifies only when a runner waits, once per wait). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._wake_runners() from public;
