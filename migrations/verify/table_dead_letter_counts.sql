-- Verify hookline:table_dead_letter_counts from pg

BEGIN;

select tenant_id, endpoint_id, dead_count from hookline.dead_letter_counts where false;

do $$
begin
  if (select pg_catalog.count(*) from pg_catalog.pg_trigger t
      where t.tgrelid = 'hookline.dead_letters'::regclass and t.tgname like '\_500\_count\_%') <> 4 then
    raise exception 'the dead_letters count triggers are missing';
  end if;
end
$$;

ROLLBACK;
