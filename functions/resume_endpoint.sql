create or replace function hookline.resume_endpoint(name text, reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(resume_endpoint.name);
begin
  perform pg_catalog.set_config('hookline.reason', coalesce(resume_endpoint.reason, ''), true);
  update hookline.endpoints e
  set state = 'active', paused_reason = null, updated_at = pg_catalog.now()
  where e.endpoint_id = v_id and e.state <> 'active';
  if found then
    perform pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}');
  end if;
  return 'active';
end
$$;

comment on function hookline.resume_endpoint(text, text) is
  'Makes a paused or disabled endpoint active; its waiting deliveries that are due are claimable at once and runners are notified. Returns the state after the call (active). The change is audited (endpoints.update, with the reason if given). Errors: HL020 unknown endpoint.';

-- SECURITY DEFINER: operators have no table privileges; hookline._endpoint_id finds only the caller's tenants' endpoints.
revoke all on function hookline.resume_endpoint(text, text) from public;
grant execute on function hookline.resume_endpoint(text, text) to hookline_operator;
