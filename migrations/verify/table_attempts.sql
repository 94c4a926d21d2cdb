-- Verify hookline:table_attempts from pg

BEGIN;

select attempt_id, attempted_at, delivery_id, endpoint_id, generation, attempt_number, status_code,
  duration_ms, outcome, tenant_id, runner, error_class, response_excerpt
from hookline.attempts where false;

do $$
begin
  if not exists (select from hookline.partition_policies where table_name = 'attempts') then
    raise exception 'hookline.attempts has no partition policy';
  end if;
  if to_regclass('hookline.attempts_default') is null then
    raise exception 'hookline.attempts has no default partition';
  end if;
end
$$;

ROLLBACK;
