create or replace function hookline.set_endpoint(
  name text,
  url text default null,
  timeout_ms integer default null,
  max_in_flight integer default null,
  retry_schedule interval[] default null,
  reason text default null
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(set_endpoint.name);
  v_tenant text;
  v_constraint text;
begin
  -- FOR NO KEY UPDATE, the lock of the update below: the key does not change, so inserts that
  -- reference the endpoint (their foreign-key checks take KEY SHARE) go on. FOR UPDATE made
  -- them wait, and this function then waits for the audit log's lock (the update's audit
  -- trigger): a replay, discard or complete that held that lock and checked a row of this
  -- endpoint deadlocked with it.
  select e.tenant_id into v_tenant from hookline.endpoints e where e.endpoint_id = v_id for no key update;
  if set_endpoint.url is not null then
    perform hookline._check_endpoint_url(v_tenant, set_endpoint.url);
  end if;
  perform pg_catalog.set_config('hookline.reason', coalesce(set_endpoint.reason, 'changed by an operator'), true);
  update hookline.endpoints e
  set url = coalesce(set_endpoint.url, e.url),
    timeout_ms = coalesce(set_endpoint.timeout_ms, e.timeout_ms),
    max_in_flight = coalesce(set_endpoint.max_in_flight, e.max_in_flight),
    retry_schedule = coalesce(set_endpoint.retry_schedule, e.retry_schedule),
    updated_at = pg_catalog.now()
  where e.endpoint_id = v_id;
  return v_id;
exception
  when check_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using
      errcode = 'HL021',
      message = format('invalid endpoint setting: %s', coalesce(v_constraint, sqlerrm)),
      hint = 'timeout_ms 100..300000; max_in_flight 1..10000; retry intervals positive.';
end
$$;

comment on function hookline.set_endpoint(text, text, integer, integer, interval[], text) is
  'Changes an endpoint of the caller''s tenants: its URL (the rules of add_endpoint), timeout, concurrency limit and retry schedule (an empty array: no retries); a null argument keeps the value. Deliveries already in flight finish with the old settings. Audited (endpoints.update, with before and after and the reason). Returns the endpoint id. Errors: HL020 unknown endpoint; HL021 invalid setting; HL082 plain http not allowed for the tenant.';

-- SECURITY DEFINER: operators have no table privileges; hookline._endpoint_id finds only the caller's tenants' endpoints, and the change is audited.
revoke all on function hookline.set_endpoint(text, text, integer, integer, interval[], text) from public;
grant execute on function hookline.set_endpoint(text, text, integer, integer, interval[], text) to hookline_operator;
