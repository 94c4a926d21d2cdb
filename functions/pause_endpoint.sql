create or replace function hookline.pause_endpoint(name text, reason text default 'paused by an operator')
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(pause_endpoint.name);
  v_state text;
begin
  perform pg_catalog.set_config('hookline.reason', coalesce(pause_endpoint.reason, 'paused by an operator'), true);
  update hookline.endpoints e
  set state = 'paused', paused_reason = coalesce(pause_endpoint.reason, 'paused by an operator'), updated_at = pg_catalog.now()
  where e.endpoint_id = v_id and e.state = 'active'
  returning e.state into v_state;
  if not found then
    select e.state into v_state from hookline.endpoints e where e.endpoint_id = v_id;
  end if;
  return v_state;
end
$$;

comment on function hookline.pause_endpoint(text, text) is
  'Pauses an active endpoint: its deliveries stay queued (new ones too) and are not claimed until resume_endpoint. A paused or disabled endpoint is left as it is. Returns the state after the call. The change is audited (endpoints.update, with the reason). Errors: HL020 unknown endpoint.';

-- SECURITY DEFINER: operators have no table privileges; hookline._endpoint_id finds only the caller's tenants' endpoints.
revoke all on function hookline.pause_endpoint(text,text) from public;
grant execute on function hookline.pause_endpoint(text,text) to hookline_operator;
