create or replace function hookline._breaker_trip(target text, reason text, now timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
begin
  insert into hookline.circuit_breakers (target, window_started_at, changed_at)
  values (_breaker_trip.target, _breaker_trip.now, _breaker_trip.now)
  on conflict do nothing;
  select b.* into strict v_b from hookline.circuit_breakers b where b.target = _breaker_trip.target for update;
  if v_b.state <> 'open' and not v_b.is_forced then
    update hookline.circuit_breakers b set cooldown = b.max_cooldown where b.target = _breaker_trip.target;
    perform hookline._breaker_transition(_breaker_trip.target, 'open', _breaker_trip.reason, 'hookline', _breaker_trip.now);
  end if;
end
$$;

comment on function hookline._breaker_trip(text, text, timestamptz) is
  'Private. Opens a target''s breaker at once for its longest cool-down (an account or auth error: every send would fail alike). A forced breaker is left alone. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_trip(text,text,timestamp with time zone) from public;
