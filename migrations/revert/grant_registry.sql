-- Revert hookline:grant_registry from pg

BEGIN;

do $$
begin
  if to_regnamespace('hookline_registry') is not null then
    revoke select on hookline_registry.changes, hookline_registry.functions from hookline_runner;
    revoke usage on schema hookline_registry from hookline_runner;
  end if;
end
$$;

COMMIT;
