create or replace function hookline.configure_breaker(
  target text,
  failure_rate double precision default null,
  min_requests integer default null,
  window_length interval default null,
  max_consecutive_failures integer default null,
  base_cooldown interval default null,
  max_cooldown interval default null,
  probes integer default null,
  now timestamptz default pg_catalog.now()
)
returns hookline.circuit_breakers
language plpgsql
set search_path = ''
as $$
declare
  v_b hookline.circuit_breakers;
  v_constraint text;
begin
  -- set_breaker(auto) checks the target and creates the row, recording the operator's call.
  perform hookline.set_breaker(configure_breaker.target, 'auto', 'settings changed', configure_breaker.now);
  begin
    update hookline.circuit_breakers b
    set failure_rate = coalesce(configure_breaker.failure_rate, b.failure_rate),
      min_requests = coalesce(configure_breaker.min_requests, b.min_requests),
      window_length = coalesce(configure_breaker.window_length, b.window_length),
      max_consecutive_failures = coalesce(configure_breaker.max_consecutive_failures, b.max_consecutive_failures),
      base_cooldown = coalesce(configure_breaker.base_cooldown, b.base_cooldown),
      max_cooldown = coalesce(configure_breaker.max_cooldown, b.max_cooldown),
      probes = coalesce(configure_breaker.probes, b.probes)
    where b.target = configure_breaker.target
    returning b.* into v_b;
  exception when check_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using errcode = 'HL066', message = format('invalid breaker setting: %s', v_constraint);
  end;
  return v_b;
end
$$;

comment on function hookline.configure_breaker(text, double precision, integer, interval, integer, interval, interval, integer, timestamptz) is
  'Operator: changes a breaker''s settings (null keeps the current value): failure_rate (0.5) over window_length (60 s) once min_requests (20) results are in, max_consecutive_failures (10), base_cooldown (30 s) doubling up to max_cooldown (10 min), probes (2). The breaker goes back to automatic; the call is recorded. Returns the breaker. Errors: HL065 unknown target; HL066 invalid setting.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.configure_breaker(text,double precision,integer,interval,integer,interval,interval,integer,timestamp with time zone) from public;
