create or replace function hookline.remove_source(source text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  delete from hookline.sources s where s.name = remove_source.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', remove_source.source),
      hint = 'hookline sources list shows the sources.';
  end if;
end
$$;

comment on function hookline.remove_source(text) is
  'Removes a source: its webhooks are answered 404 from then on (within the ingress cache bound). Its stored events and raw requests stay until retention drops their partitions. Errors: HL001 unknown source.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.remove_source(text) from public;
