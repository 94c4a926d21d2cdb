create or replace function hookline.add_source(
  tenant_id text,
  name text,
  kind text,
  secret text,
  verify_token text default null,
  max_body_bytes integer default 4194304,
  create_tenant boolean default false
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if add_source.name is null or add_source.name !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception using
      errcode = 'HL043',
      message = format('invalid source name %L', add_source.name),
      hint = 'A source name is lowercase letters, digits, _ and -, at most 63 characters; it is the {source} of /webhooks/{source}.';
  end if;
  if add_source.kind is null or add_source.kind not in ('whatsapp', 'standard-webhooks') then
    raise exception using
      errcode = 'HL043',
      message = format('invalid source kind %L', add_source.kind),
      hint = 'The kinds are whatsapp and standard-webhooks.';
  end if;
  if coalesce(add_source.secret, '') = '' or coalesce(add_source.verify_token, 'x') = '' then
    raise exception using errcode = 'HL043', message = 'the secret (and a verify token, if given) must not be empty';
  end if;
  if add_source.max_body_bytes is null or add_source.max_body_bytes <= 0 then
    raise exception using errcode = 'HL043', message = 'max_body_bytes must be a positive number of bytes';
  end if;
  if not exists (select from hookline.tenants t where t.tenant_id = add_source.tenant_id) then
    if add_source.tenant_id is null or add_source.tenant_id !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
      raise exception using
        errcode = 'HL044',
        message = format('invalid tenant id %L', add_source.tenant_id),
        hint = 'A tenant id is lowercase letters, digits, _ and -, at most 63 characters.';
    end if;
    if not add_source.create_tenant then
      raise exception using
        errcode = 'HL044',
        message = format('unknown tenant %L', add_source.tenant_id),
        hint = 'Create it with create_tenant => true (hookline sources add --create-tenant).';
    end if;
    insert into hookline.tenants (tenant_id, display_name) values (add_source.tenant_id, add_source.tenant_id);
  end if;

  insert into hookline.sources as s (tenant_id, name, kind, signing_secrets, verify_token, max_body_bytes)
  values (add_source.tenant_id, add_source.name, add_source.kind, array[add_source.secret],
          add_source.verify_token, add_source.max_body_bytes)
  on conflict on constraint sources_name_key do nothing;
  if not found then
    raise exception using
      errcode = 'HL042',
      message = format('source %L already exists', add_source.name),
      hint = 'Pick another name, or rotate its secret with hookline sources rotate-secret.';
  end if;

end
$$;

comment on function hookline.add_source(text, text, text, text, text, integer, boolean) is
  'Adds a source (a WhatsApp app or a Standard Webhooks sender) with one signing secret, an optional verify token for the WhatsApp handshake and a body size limit (default 4 MiB). Creates the tenant only when create_tenant is true. Errors: HL042 a source of that name exists; HL043 invalid name, kind, secret or size; HL044 unknown or invalid tenant id.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.add_source(text,text,text,text,text,integer,boolean) from public;
