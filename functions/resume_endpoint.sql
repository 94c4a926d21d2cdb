create or replace function hookline.resume_endpoint(name text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(resume_endpoint.name);
begin
  update hookline.endpoints e
  set state = 'active', paused_reason = null, updated_at = pg_catalog.now()
  where e.endpoint_id = v_id and e.state <> 'active';
  if found then
    perform pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}');
  end if;
  return 'active';
end
$$;

comment on function hookline.resume_endpoint(text) is
  'Makes a paused or disabled endpoint active; its waiting deliveries that are due are claimable at once and runners are notified. Returns the state after the call (active). Errors: HL020 unknown endpoint.';
