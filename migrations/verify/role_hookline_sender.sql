-- Verify hookline:role_hookline_sender from pg

BEGIN;

do $$
begin
  if not pg_catalog.has_schema_privilege('hookline_sender', 'hookline', 'usage') then
    raise exception 'hookline_sender has no usage on schema hookline';
  end if;
end
$$;

ROLLBACK;
