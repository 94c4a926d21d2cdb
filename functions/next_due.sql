create or replace function hookline.next_due()
returns timestamptz
language plpgsql
security definer
set search_path = ''
-- It reads each active endpoint's first row in (endpoint_id, next_attempt_at) order, and its
-- in-flight leases: index reads by design. A plan made while the statistics said deliveries
-- was empty (an analyze during a bulk insert) read the whole table instead, until the next
-- analyze: no sequential or bitmap scan, and no JIT.
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  v_due timestamptz;
  v_registered boolean;
  v_claimable boolean;
  -- The clock, not the transaction's start: a writer whose transaction began after this one
  -- stamps its deliveries later than now() and must still count as due.
  v_now timestamptz := pg_catalog.clock_timestamp();
begin
  -- The caller found no work and is about to sleep: ask writers to wake it (hookline._wake).
  -- Null: a writer's transaction kept it from registering; "due now" makes it look again soon.
  v_registered := hookline._register_wait('hookline_deliveries');
  if v_registered is null then
    return pg_catalog.now();
  end if;

  select pg_catalog.min(greatest(x.next_attempt_at, case when b.state = 'open' then b.open_until end)),
    -- Due now at an endpoint with room: work a writer committed while the caller was saying
    -- it waits (that writer read the flag before it was set), or work behind an open breaker
    -- whose cool-down has ended since the caller's claim. The breaker's room is claim's
    -- (hookline._breaker_limit): an open one past its cool-down has its probes, as the claim
    -- that turns it half-open gives them (this read only looks; it never changes a breaker).
    pg_catalog.bool_or(x.next_attempt_at <= v_now
      and (select pg_catalog.count(*) from hookline.deliveries f
           where f.endpoint_id = e.endpoint_id and f.state = 'in_flight' and f.next_attempt_at > v_now)
          < least(e.max_in_flight, hookline._breaker_limit(b.state, b.is_forced, b.open_until, b.probes, v_now)))
  into v_due, v_claimable
  from hookline.endpoints e
  cross join lateral (
    select d.next_attempt_at
    from hookline.deliveries d
    where d.endpoint_id = e.endpoint_id
    order by d.next_attempt_at
    limit 1
  ) x
  -- Each endpoint's breaker by a probe of its key (joined, a plan made on drained breakers
  -- read their primary key from its start for each endpoint, up to the endpoint's target).
  left join lateral (
    select b.state, b.is_forced, b.open_until, b.probes
    from hookline.circuit_breakers b where b.target = 'endpoint:' || e.endpoint_id limit 1
  ) b on true
  where e.state = 'active' and not (b.state = 'open' and b.is_forced) is true;
  -- Then the caller is woken at once (its LISTEN connection gets this at commit), not after
  -- the floor it sleeps when work is due but was not claimable a moment ago.
  if v_registered and v_claimable then
    perform hookline._wake('hookline_deliveries');
  end if;
  return v_due;
end
$$;

comment on function hookline.next_due() is
  'What a runner calls when it found no work, before it sleeps: registers it as waiting (the next writer with work notifies channel hookline_deliveries, once) and returns when the next delivery of an active endpoint becomes claimable (a retry time or a lease expiry, or when its open circuit breaker half-opens; never while forced open), null when none is queued; may be in the past (now, when a writer''s transaction that may have made work due is still open). Runners sleep until then (or a notification). Errors: none.';

-- SECURITY DEFINER: runners have no table privileges; they learn when work is due only through this function.
revoke all on function hookline.next_due() from public;
grant execute on function hookline.next_due() to hookline_runner;
