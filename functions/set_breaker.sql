create or replace function hookline.set_breaker(
  target text,
  mode text,
  reason text default 'set by an operator',
  now timestamptz default pg_catalog.now()
)
returns hookline.circuit_breakers
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
  v_state text;
begin
  if set_breaker.mode is null or set_breaker.mode not in ('open', 'closed', 'auto') then
    raise exception using errcode = 'HL066', message = 'mode must be open, closed or auto',
      detail = format('got %L', set_breaker.mode);
  end if;
  if set_breaker.target is null or set_breaker.target !~ '^(endpoint|sender):[0-9]+$'
     or (set_breaker.target like 'endpoint:%' and not exists (
           select from hookline.endpoints e where 'endpoint:' || e.endpoint_id = set_breaker.target))
     or (set_breaker.target like 'sender:%' and not exists (
           select from hookline.senders s where 'sender:' || s.phone_number_id = set_breaker.target)) then
    raise exception using errcode = 'HL065', message = format('unknown breaker target %L', set_breaker.target),
      hint = 'A target is endpoint:<endpoint_id> or sender:<phone_number_id> of an existing endpoint or sender.';
  end if;
  -- Lock order (docs/outbound.md): a sender's breaker after its sender, here too. Without the
  -- sender's lock, set_breaker created a sender's new breaker row and then waited for the audit
  -- chain's lock (its audit row below), while a complete_messages that held that lock (it had
  -- paused another number of its batch, an audited update) went on to create the same breaker
  -- and waited for this row (40P01). Now it waits for the complete, which holds the sender.
  if set_breaker.target like 'sender:%' then
    perform from hookline.senders s
    where s.phone_number_id = pg_catalog.substr(set_breaker.target, 8)
    for no key update;
  end if;
  insert into hookline.circuit_breakers (target, window_started_at, changed_at)
  values (set_breaker.target, set_breaker.now, set_breaker.now)
  on conflict do nothing;
  select b.* into strict v_b from hookline.circuit_breakers b where b.target = set_breaker.target for update;
  v_state := case set_breaker.mode when 'auto' then v_b.state else set_breaker.mode end;
  -- The cool-down starts again from base_cooldown; the state changes before the breaker is
  -- forced, so that a half-open breaker can be forced open or closed (a forced breaker is never
  -- half-open: a check constraint, tested per statement).
  update hookline.circuit_breakers b set cooldown = null
  where b.target = set_breaker.target;
  -- Every operator call is recorded, a change of state or not: it is the audit of who forced what.
  perform hookline._breaker_transition(set_breaker.target, v_state,
    format('%s (%s)', coalesce(set_breaker.reason, 'set by an operator'), set_breaker.mode),
    session_user, set_breaker.now);
  update hookline.circuit_breakers b set is_forced = (set_breaker.mode <> 'auto')
  where b.target = set_breaker.target;
  select b.* into strict v_b from hookline.circuit_breakers b where b.target = set_breaker.target;
  -- breaker_transitions is pruned and not chained: the operator's call goes to the audit log too.
  insert into hookline.audit_log (action, tenant_id, target, reason, after)
  select 'breakers.set', coalesce(e.tenant_id, s.tenant_id),
    pg_catalog.jsonb_build_object('target', set_breaker.target, 'mode', set_breaker.mode),
    coalesce(set_breaker.reason, 'set by an operator'),
    pg_catalog.jsonb_build_object('state', v_b.state, 'is_forced', v_b.is_forced)
  from (select) one
  left join hookline.endpoints e on 'endpoint:' || e.endpoint_id = set_breaker.target
  left join hookline.senders s on 'sender:' || s.phone_number_id = set_breaker.target;
  return v_b;
end
$$;

comment on function hookline.set_breaker(text, text, text, timestamptz) is
  'Operator: force a breaker open (nothing of the target is claimed) or closed (everything flows, failures are not counted) until set back to auto, which resumes automatic transitions from the current state. Recorded in hookline.breaker_transitions with the session user and in the audit log (breakers.set). Returns the breaker. Errors: HL065 unknown target; HL066 invalid mode.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.set_breaker(text,text,text,timestamp with time zone) from public;
