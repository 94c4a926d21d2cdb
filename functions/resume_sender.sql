create or replace function hookline.resume_sender(phone_number_id text, now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_target text := 'sender:' || resume_sender.phone_number_id;
begin
  perform hookline._sender(resume_sender.phone_number_id);
  -- Lock order (docs/outbound.md): the sender, then its breaker, and only then the update,
  -- whose audit trigger takes the audit chain's lock. Locking the breaker after the update
  -- deadlocked with set_breaker, which holds the breaker when it writes its audit row.
  perform from hookline.senders s where s.phone_number_id = resume_sender.phone_number_id for no key update;
  perform from hookline.circuit_breakers b where b.target = v_target for update;
  update hookline.senders s
  set state = 'active', paused_reason = null, throttled_until = null, updated_at = resume_sender.now
  where s.phone_number_id = resume_sender.phone_number_id and s.state = 'paused';
  if found then
    -- The operator fixed what paused it (a token, a permission): an automatic breaker that the
    -- pause opened closes with it; a forced one stays as the operator set it.
    if exists (select from hookline.circuit_breakers b where b.target = v_target and b.state <> 'closed' and not b.is_forced) then
      perform hookline._breaker_transition(v_target, 'closed', 'sender resumed', session_user, resume_sender.now);
    end if;
    perform hookline._wake('hookline_outbox');
  end if;
  return 'active';
end
$$;

comment on function hookline.resume_sender(text, timestamptz) is
  'Resumes a paused sender (after fixing what paused it): its messages flow at once and its automatic breaker closes; a waiting outbound runner is notified (hookline_outbox). Errors: HL060 unknown sender.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.resume_sender(text,timestamp with time zone) from public;
