create or replace function hookline._register_wait(channel text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_lock_timeout text;
begin
  -- The caller (a runner's next_due or next_message_due) found no work and is about to sleep:
  -- ask writers to wake it (hookline._wake). The exclusive lock waits for the writers that
  -- read the flag before it is set; the caller's look after this, a new snapshot, sees their
  -- work. Writers after it see the flag. It waits 5 ms at most: behind a writer's long
  -- transaction (writers would queue behind this lock) it gives up and answers null, and the
  -- caller answers "due now", so the runner looks again after its short floor instead.
  if exists (select from hookline.runner_waits w where w.channel = _register_wait.channel and w.is_waiting) then
    return false;
  end if;
  v_lock_timeout := pg_catalog.current_setting('lock_timeout');
  begin
    perform pg_catalog.set_config('lock_timeout', '5ms', true);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.runner_waits'), pg_catalog.hashtext(_register_wait.channel));
  exception when lock_not_available then
    return null;
  end;
  perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  insert into hookline.runner_waits as w (channel, is_waiting, changed_at)
  values (_register_wait.channel, true, pg_catalog.now())
  on conflict on constraint runner_waits_pkey do update set is_waiting = true, changed_at = excluded.changed_at;
  return true;
end
$$;

comment on function hookline._register_wait(text) is
  'Private, for next_due and next_message_due: marks a runner as waiting on channel (hookline.runner_waits), so the next writer with work notifies it (hookline._wake). Returns true when it registered the wait, false when a runner already waited, null when a writer''s open transaction kept it from registering within 5 ms (the caller then answers "due now"). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._register_wait(text) from public;
