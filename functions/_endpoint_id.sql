create or replace function hookline._endpoint_id(name text)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
  v_id bigint;
begin
  select e.endpoint_id into v_id from hookline.endpoints e where e.name = _endpoint_id.name and hookline._tenant_visible(e.tenant_id);
  if not found then
    raise exception using
      errcode = 'HL020',
      message = format('unknown endpoint %L', _endpoint_id.name),
      hint = 'hookline endpoints list shows the endpoints.';
  end if;
  return v_id;
end
$$;

comment on function hookline._endpoint_id(text) is
  'Private. The id of the endpoint of that name, among the caller''s tenants'' endpoints (another tenant''s endpoint is unknown, the same error). Errors: HL020 unknown endpoint.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._endpoint_id(text) from public;
