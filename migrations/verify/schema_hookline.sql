-- Verify hookline:schema_hookline from pg

BEGIN;

do $$
begin
  if to_regnamespace('hookline') is null then
    raise exception 'schema hookline is missing';
  end if;
end
$$;

ROLLBACK;
