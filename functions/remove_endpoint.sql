create or replace function hookline.remove_endpoint(name text)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(remove_endpoint.name);
  v_live bigint;
  v_dead bigint;
begin
  perform from hookline.endpoints e where e.endpoint_id = v_id for update;
  if not found then  -- removed by a concurrent call since the lookup
    raise exception using errcode = 'HL020', message = format('unknown endpoint %L', remove_endpoint.name);
  end if;
  select pg_catalog.count(*) into v_live from hookline.deliveries d where d.endpoint_id = v_id;
  select pg_catalog.count(*) into v_dead from hookline.dead_letters d where d.endpoint_id = v_id;
  if v_live + v_dead > 0 then
    raise exception using
      errcode = 'HL023',
      message = format('endpoint %L has %s live deliveries and %s dead letters', remove_endpoint.name, v_live, v_dead),
      hint = 'Pause it and let them finish, or discard them (hookline.discard), then purge the dead letters; or disable it instead.';
  end if;
  delete from hookline.endpoints e where e.endpoint_id = v_id;
  return v_id;
end
$$;

comment on function hookline.remove_endpoint(text) is
  'Removes an endpoint and its subscriptions. Refuses while deliveries or dead letters refer to it. Returns its id. Errors: HL020 unknown endpoint; HL023 endpoint still has deliveries or dead letters.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.remove_endpoint(text) from public;
