create or replace function hookline.rotate_endpoint_secret(name text, secret text default null, reason text default null)
returns table (endpoint_id bigint, secret_count integer)
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint := hookline._endpoint_id(rotate_endpoint_secret.name);
begin
  perform pg_catalog.set_config('hookline.reason', coalesce(rotate_endpoint_secret.reason,
    case when rotate_endpoint_secret.secret is null then 'signing secret rotation finished' else 'signing secret rotation started' end), true);
  if rotate_endpoint_secret.secret is null then
    -- Ends an overlap: only the newest secret signs from now on.
    update hookline.endpoints e set previous_signing_secret = null, updated_at = pg_catalog.now()
    where e.endpoint_id = v_id and e.previous_signing_secret is not null;
  else
    -- Starts an overlap: the new secret signs, the current one keeps signing next to it until
    -- the rotation is finished. An older previous secret is dropped.
    update hookline.endpoints e
    set previous_signing_secret = e.signing_secret, signing_secret = rotate_endpoint_secret.secret, updated_at = pg_catalog.now()
    where e.endpoint_id = v_id;
  end if;
  return query
  select e.endpoint_id, 1 + (e.previous_signing_secret is not null)::integer
  from hookline.endpoints e where e.endpoint_id = v_id;
end
$$;

comment on function hookline.rotate_endpoint_secret(text, text, text) is
  'Rotates an endpoint''s signing secret with an overlap: with a secret, it becomes the signing secret and the current one stays as the previous one, both signing every delivery (two signatures in webhook-signature) until the call without a secret retires the previous one. Audited (endpoints.update, secrets as keyed fingerprints). Returns the endpoint and how many secrets sign. Errors: HL020 unknown endpoint; 23514 a secret that is neither whsec_... nor sealed.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.rotate_endpoint_secret(text,text,text) from public;
