create or replace function hookline.stored_secrets()
returns table (kind text, ref text, slot integer, value text)
language sql
stable
set search_path = ''
as $$
  select 'source_signing_secret', s.name, x.n::integer, x.v
  from hookline.sources s cross join lateral pg_catalog.unnest(s.signing_secrets) with ordinality x (v, n)
  union all
  select 'source_verify_token', s.name, 1, s.verify_token from hookline.sources s where s.verify_token is not null
  union all
  select 'endpoint_signing_secret', e.name, 1, e.signing_secret from hookline.endpoints e
  union all
  select 'endpoint_signing_secret', e.name, 2, e.previous_signing_secret from hookline.endpoints e
  where e.previous_signing_secret is not null
  union all
  select 'sender_access_token', s.phone_number_id, 1, s.access_token from hookline.senders s
$$;

comment on function hookline.stored_secrets() is
  'Every stored secret, sealed or not, for hookline secrets rekey: kind (source_signing_secret, source_verify_token, endpoint_signing_secret, sender_access_token), the owning source, endpoint or sender, the slot (for source secrets the array index; for endpoints 1 the current, 2 the previous one while rotating), the stored value. Owner only. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.stored_secrets() from public;
