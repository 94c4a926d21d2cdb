-- Drops every function that functions/ defines, so that migrations can be reverted:
--   psql "$DSN" -v ON_ERROR_STOP=1 -f functions/uninstall.sql && sqitch revert ...
-- `hookline db revert` runs this file too. It drops each function of schema hookline that no
-- other object depends on, except the functions a migration defines (a policy, view or trigger
-- needs them; their comment starts with "Migration-owned"): their change's revert drops them.
-- Re-apply the functions after a partial revert with functions/index.sql.
do $$
declare
  v_fn regprocedure;
begin
  for v_fn in
    select p.oid::regprocedure
    from pg_catalog.pg_proc p
    where p.pronamespace = 'hookline'::regnamespace
      and coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') not like 'Migration-owned%'
      and not exists (
        select from pg_catalog.pg_depend d
        where d.refclassid = 'pg_catalog.pg_proc'::regclass and d.refobjid = p.oid
          and d.deptype in ('n', 'a', 'e')
      )
      and not exists (
        select from pg_catalog.pg_depend d
        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
  loop
    execute format('drop function %s', v_fn);
  end loop;
end
$$;
