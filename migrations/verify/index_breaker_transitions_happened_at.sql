-- Verify hookline:index_breaker_transitions_happened_at from pg

BEGIN;

do $$
begin
  if to_regclass('hookline.breaker_transitions_happened_at_idx') is null then
    raise exception 'index hookline.breaker_transitions_happened_at_idx is missing';
  end if;
end
$$;

ROLLBACK;
