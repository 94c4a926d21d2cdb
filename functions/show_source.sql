create or replace function hookline.show_source(source text)
returns table (
  name text,
  tenant_id text,
  kind text,
  secret_count integer,
  has_verify_token boolean,
  max_body_bytes integer,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
begin
  return query select l.* from hookline.list_sources() l where l.name = show_source.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', show_source.source),
      hint = 'hookline sources list shows the sources.';
  end if;
end
$$;

comment on function hookline.show_source(text) is
  'One source, as hookline.list_sources shows it (never its secrets). Errors: HL001 unknown source.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.show_source(text) from public;
