-- Verify hookline:cron_prune_dead_letters from pg

BEGIN;

do $$
begin
  if not exists (select from hookline.jobs where job_name = 'prune_dead_letters') then
    raise exception 'the job prune_dead_letters is missing';
  end if;
end
$$;

ROLLBACK;
