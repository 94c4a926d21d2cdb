create or replace function hookline._register_wait(channel text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  -- The caller (a runner's next_due or next_message_due) found no work and is about to sleep:
  -- ask writers to wake it (hookline._wake). The exclusive lock is free only when no writer
  -- that read the flag (under the shared lock, to the end of its transaction) is still open,
  -- so the caller's look after this, a new snapshot, sees every such writer's work; writers
  -- after it see the flag. It never waits: behind any open writer it answers null at once,
  -- and the caller answers "due now", so the runner looks again after its short floor. A
  -- waiting lock request would queue every new writer behind it.
  if exists (select from hookline.runner_waits w where w.channel = _register_wait.channel and w.is_waiting) then
    return false;
  end if;
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('hookline.runner_waits'), pg_catalog.hashtext(_register_wait.channel)) then
    return null;
  end if;
  insert into hookline.runner_waits as w (channel, is_waiting, changed_at)
  values (_register_wait.channel, true, pg_catalog.now())
  on conflict on constraint runner_waits_pkey do update set is_waiting = true, changed_at = excluded.changed_at;
  return true;
end
$$;

comment on function hookline._register_wait(text) is
  'Private, for next_due and next_message_due: marks a runner as waiting on channel (hookline.runner_waits), so the next writer with work notifies it (hookline._wake). Returns true when it registered the wait, false when a runner already waited, null when a writer''s open transaction kept it from registering (it does not wait for it; the caller then answers "due now"). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._register_wait(text) from public;
