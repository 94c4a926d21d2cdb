create or replace function hookline._wake_runners()
returns void
language sql
volatile
set search_path = ''
as $$
  -- A constant payload: PostgreSQL folds identical notifications of one transaction into one.
  select pg_catalog.pg_notify('hookline_deliveries', '{"due":"now"}')
$$;

comment on function hookline._wake_runners() is
  'Private: tells listening runners that deliveries are due now (NOTIFY hookline_deliveries, once per transaction however often it is called). Called where new deliveries are created. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._wake_runners() from public;
