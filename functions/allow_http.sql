create or replace function hookline.allow_http(tenant_id text, allowed boolean, reason text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.set_config('hookline.reason', coalesce(allow_http.reason, ''), true);
  update hookline.tenants t set allows_http = coalesce(allow_http.allowed, false)
  where t.tenant_id = allow_http.tenant_id;
  if not found then
    raise exception using errcode = 'HL044', message = format('unknown tenant %L', allow_http.tenant_id);
  end if;
  return coalesce(allow_http.allowed, false);
end
$$;

comment on function hookline.allow_http(text, boolean, text) is
  'Lets a tenant''s endpoints use plain http to any host (allowed true), or only https and http to loopback (false, the default). Existing endpoints keep their URLs. Audited (tenants.update). Returns the setting. Errors: HL044 unknown tenant.';

-- Owner only (admin): no grants.
revoke all on function hookline.allow_http(text, boolean, text) from public;
