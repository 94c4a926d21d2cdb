create or replace function hookline.set_dead_letter_retention(tenant text, retention interval, reason text default null)
returns interval
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not hookline._tenant_visible(set_dead_letter_retention.tenant) then
    raise exception using errcode = 'HL044', message = format('unknown tenant %L', set_dead_letter_retention.tenant);
  end if;
  if set_dead_letter_retention.retention is null or set_dead_letter_retention.retention < interval '1 day' then
    raise exception using
      errcode = 'HL002',
      message = format('invalid dead-letter retention %L', set_dead_letter_retention.retention),
      hint = 'At least 1 day, e.g. 14 days.';
  end if;
  perform pg_catalog.set_config('hookline.reason', coalesce(set_dead_letter_retention.reason, ''), true);
  update hookline.tenants t set dead_letter_retention = set_dead_letter_retention.retention
  where t.tenant_id = set_dead_letter_retention.tenant;
  if not found then
    raise exception using errcode = 'HL044', message = format('unknown tenant %L', set_dead_letter_retention.tenant);
  end if;
  return set_dead_letter_retention.retention;
end
$$;

comment on function hookline.set_dead_letter_retention(text, interval, text) is
  'Sets how long a tenant''s dead letters are kept after they ended (at least 1 day; default 30 days); the job prune_dead_letters applies it. Operators may set it for their tenants. Audited (tenants.update, with the reason). Returns the retention. Errors: HL044 unknown tenant (or not one of the caller''s); HL002 less than a day.';

-- SECURITY DEFINER: operators have no table privileges; it changes only the caller's tenants and is audited.
revoke all on function hookline.set_dead_letter_retention(text, interval, text) from public;
grant execute on function hookline.set_dead_letter_retention(text, interval, text) to hookline_operator;
