-- Verify hookline:grant_registry from pg

BEGIN;

do $$
begin
  if to_regnamespace('hookline_registry') is not null and (
    not pg_catalog.has_table_privilege('hookline_runner', 'hookline_registry.changes', 'select')
    or pg_catalog.has_table_privilege('hookline_runner', 'hookline_registry.changes', 'insert, update, delete')
    or pg_catalog.has_table_privilege('hookline_operator', 'hookline_registry.changes', 'select')
  ) then
    raise exception 'hookline_runner (only) reads the registry';
  end if;
end
$$;

ROLLBACK;
