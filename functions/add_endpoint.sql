create or replace function hookline.add_endpoint(
  tenant text,
  name text,
  url text,
  signing_secret text default null,
  timeout_ms integer default 10000,
  max_in_flight integer default 10,
  retry_schedule interval[] default null,
  is_retrying_client_errors boolean default false
)
returns table (endpoint_id bigint, secret text)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_constraint text;
begin
  if not exists (select from hookline.tenants t where t.tenant_id = add_endpoint.tenant) then
    raise exception using errcode = 'HL021', message = format('unknown tenant %L', add_endpoint.tenant);
  end if;
  perform hookline._check_endpoint_url(add_endpoint.tenant, add_endpoint.url);
  return query
  insert into hookline.endpoints as e (
    tenant_id, name, url, signing_secret, timeout_ms, max_in_flight, retry_schedule, is_retrying_client_errors
  )
  values (
    add_endpoint.tenant, add_endpoint.name, add_endpoint.url,
    -- 32 bytes from two UUIDv4s (244 random bits), base64: a Standard Webhooks secret.
    coalesce(add_endpoint.signing_secret, 'whsec_' || pg_catalog.encode(pg_catalog.decode(
      pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'), 'base64')),
    add_endpoint.timeout_ms, add_endpoint.max_in_flight,
    coalesce(add_endpoint.retry_schedule, array[
      interval '1 minute', interval '10 minutes', interval '1 hour', interval '4 hours', interval '12 hours'
    ]),
    add_endpoint.is_retrying_client_errors
  )
  returning e.endpoint_id, e.signing_secret;
exception
  when unique_violation then
    raise exception using errcode = 'HL024', message = format('endpoint %L exists', add_endpoint.name);
  when check_violation or not_null_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using
      errcode = 'HL021',
      message = format('invalid endpoint setting: %s', coalesce(v_constraint, sqlerrm)),
      hint = 'Names: lowercase letters, digits, _ and -; timeout_ms 100..300000; max_in_flight 1..10000; retry intervals positive; secrets whsec_ + base64.';
end
$$;

comment on function hookline.add_endpoint(text, text, text, text, integer, integer, interval[], boolean) is
  'Adds an endpoint of a tenant: a handler URL with its Standard Webhooks secret (generated when null), timeout, concurrency limit and retry schedule (default 1 min, 10 min, 1 h, 4 h, 12 h). Returns its id and secret. Errors: HL021 invalid setting (unknown tenant, bad URL, out of range; the message names the rule); HL082 plain http to a host other than loopback while the tenant does not allow it; HL024 an endpoint of that name exists.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.add_endpoint(text,text,text,text,integer,integer,interval[],boolean) from public;
