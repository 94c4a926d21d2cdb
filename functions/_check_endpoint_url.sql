create or replace function hookline._check_endpoint_url(tenant text, url text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if _check_endpoint_url.url is null or _check_endpoint_url.url !~ '^https?://[^\s/?#@]+([/?#]\S*)?$' then
    raise exception using
      errcode = 'HL021',
      message = format('invalid URL %L', _check_endpoint_url.url),
      hint = 'An endpoint URL is http:// or https://, a host, and an optional path, e.g. https://handler.internal/whatsapp.';
  end if;
  -- Plain http only to loopback (a sidecar on the same host) or where the tenant allows it.
  if _check_endpoint_url.url ~* '^http://' and _check_endpoint_url.url !~* '^http://(127\.[0-9.]+|localhost|\[::1\])([:/?#]|$)'
     and not exists (select from hookline.tenants t where t.tenant_id = _check_endpoint_url.tenant and t.allows_http) then
    raise exception using
      errcode = 'HL082',
      message = format('plain http is not allowed for tenant %L', _check_endpoint_url.tenant),
      hint = 'Use https, or let the tenant use http with hookline.allow_http(tenant, true) (hookline tenants allow-http).';
  end if;
end
$$;

comment on function hookline._check_endpoint_url(text, text) is
  'Internal. The rules of an endpoint URL, for add_endpoint and set_endpoint: http(s), a host, an optional path; plain http only to loopback or where the tenant allows it. Errors: HL021 invalid URL; HL082 plain http not allowed for the tenant.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._check_endpoint_url(text, text) from public;
