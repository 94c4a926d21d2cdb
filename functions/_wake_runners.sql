create or replace function hookline._wake_runners()
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- NOTIFY takes a global lock on the notification queue from here to the end of the commit,
  -- so notifying in every writing transaction serialises every writer's commit. Signal only
  -- when a runner is waiting (it said so in hookline.next_due before it went to sleep): the
  -- first writer clears the flag and notifies; the writers after it read false and do not
  -- notify, and take no lock. A writer that finds the row locked by that first writer waits for
  -- its commit (once per wake-up) and then sees false.
  update hookline.runner_waits w
  set is_waiting = false, changed_at = pg_catalog.now()
  where w.channel = 'hookline_deliveries' and w.is_waiting;
  if found then
    perform pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}');
  end if;
end
$$;

comment on function hookline._wake_runners() is
  'Private, for writers that make deliveries due (ingest, release, rescue_leases). Notifies channel hookline_deliveries only when a runner waits for it (hookline.runner_waits, set by hookline.next_due), once per wait. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._wake_runners() from public;
