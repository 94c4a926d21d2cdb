-- Verify hookline:table_schema_changes from pg

BEGIN;

select seq, change, deployed_at, deployed_by from hookline.schema_changes where false;
select change, deployed_at from hookline.schema_version() where false;

do $$
begin
  if not exists (select from hookline.schema_changes where change = 'table_schema_changes') then
    raise exception 'table_schema_changes does not record itself';
  end if;
end
$$;

ROLLBACK;
