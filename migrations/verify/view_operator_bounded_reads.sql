-- Verify hookline:view_operator_bounded_reads from pg

BEGIN;

do $$
begin
  if not exists (select from pg_catalog.pg_proc p where p.oid = pg_catalog.to_regprocedure('hookline.circuit_state_rows(text[])')
      and p.prosecdef and p.proretset) then
    raise exception 'hookline.circuit_state_rows(text[]) must be a set-returning SECURITY DEFINER function';
  end if;
  if not pg_catalog.has_function_privilege('hookline_operator', 'hookline.circuit_state_rows(text[])', 'execute')
      or pg_catalog.has_function_privilege('public', 'hookline.circuit_state_rows(text[])', 'execute') then
    raise exception 'hookline.circuit_state_rows(text[]) is for operators and read-only roles only';
  end if;
end
$$;
select * from hookline.circuit_state_rows('{}') where false;
select * from hookline.circuit_states where false;
select * from hookline.live_delivery_rows(due_by => now(), page_size => 1) where false;
select * from hookline.dead_letter_totals() where false;

ROLLBACK;
