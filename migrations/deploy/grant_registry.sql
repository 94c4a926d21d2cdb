-- Deploy hookline:grant_registry to pg
-- requires: role_hookline

BEGIN;

-- A runner refuses a schema it does not know (exit 57), so it reads what `hookline db` has
-- deployed. Only when hookline db keeps its registry here (sqitch keeps its own elsewhere).
do $$
begin
  if to_regnamespace('hookline_registry') is not null then
    grant usage on schema hookline_registry to hookline_runner;
    grant select on hookline_registry.changes, hookline_registry.functions to hookline_runner;
  end if;
end
$$;

COMMIT;
