-- It replaces hookline._wake_runners() (v0.2.0), which called it for hookline_deliveries
-- (hookline db deploy drops a function whose file is gone; psql -f functions/index.sql does not).
drop function if exists hookline._wake_runners();
create or replace function hookline._wake(channel text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- NOTIFY takes a global lock on the notification queue from here to the end of the commit,
  -- so notifying in every writing transaction serialises every writer's commit. Signal only
  -- when a runner waits on the channel (it said so through hookline._register_wait before it
  -- went to sleep): the first writer clears the flag and notifies; the writers after it read
  -- false and do nothing.
  --
  -- No lost wake-up: the flag is read under a shared advisory lock (one per channel) held to
  -- the end of this transaction. A runner takes it exclusively to say it waits, so it waits for
  -- the writers that read the flag before (and then sees their work when it looks), and the
  -- writers after it wait for its commit (and then read true).
  --
  -- Writers never wait for each other for it: the writer that clears the flag holds the row to
  -- its commit, which may be far away (a caller's transaction that stays open after an
  -- ingest). A writer that finds the row so held (SKIP LOCKED) does not queue behind it (every
  -- writer of the channel did, until that commit: the ingress stalled behind one open
  -- transaction); it notifies itself, since its commit may come first. Only writers that meet
  -- an uncommitted clearing do, so the signal stays once per wait in the common case.
  perform pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtext('hookline.runner_waits'), pg_catalog.hashtext(_wake.channel));
  if not exists (select from hookline.runner_waits w where w.channel = _wake.channel and w.is_waiting) then
    return;
  end if;
  perform from hookline.runner_waits w where w.channel = _wake.channel and w.is_waiting for update skip locked;
  if found then
    update hookline.runner_waits w
    set is_waiting = false, changed_at = pg_catalog.now()
    where w.channel = _wake.channel;
  end if;
  perform pg_catalog.pg_notify(_wake.channel, '{"due":"now"}');
end
$$;

comment on function hookline._wake(text) is
  'Private, for writers that make work due: notifies channel (hookline_deliveries or hookline_outbox) only when a runner waits on it (hookline.runner_waits, set through hookline._register_wait), once per wait (a writer that finds another one clearing the flag, uncommitted, notifies too instead of waiting for it). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._wake(text) from public;
