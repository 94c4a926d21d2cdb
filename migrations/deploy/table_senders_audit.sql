-- Deploy hookline:table_senders_audit to pg
-- requires: table_audit_triggers
-- requires: table_senders
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Senders are configuration too: adding one, rotating its token, changing its limits, pausing
-- and resuming it are audited like the other configuration tables. Only the configuration
-- columns fire the trigger: the rate window and throttle that every claim updates do not.
-- Access tokens appear as fingerprints, like signing secrets.
create or replace function hookline._audit_row_change()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_old jsonb := case when tg_op <> 'INSERT' then pg_catalog.to_jsonb(old) end;
  v_new jsonb := case when tg_op <> 'DELETE' then pg_catalog.to_jsonb(new) end;
  v_row jsonb := coalesce(v_new, v_old);
  v_before jsonb;
  v_after jsonb;
begin
  select pg_catalog.jsonb_object_agg(k.key, case when k.key in ('signing_secrets', 'signing_secret', 'verify_token', 'access_token')
           then pg_catalog.to_jsonb('sha256:' || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(v_old -> k.key #>> '{}', 'UTF8')), 'hex'), 12))
           else v_old -> k.key end) filter (where v_old is not null and v_old -> k.key <> 'null'::jsonb),
         pg_catalog.jsonb_object_agg(k.key, case when k.key in ('signing_secrets', 'signing_secret', 'verify_token', 'access_token')
           then pg_catalog.to_jsonb('sha256:' || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(v_new -> k.key #>> '{}', 'UTF8')), 'hex'), 12))
           else v_new -> k.key end) filter (where v_new is not null and v_new -> k.key <> 'null'::jsonb)
  into v_before, v_after
  from pg_catalog.jsonb_object_keys(v_row) k (key)
  where k.key not in ('updated_at', 'event_type_regex')
    and (v_old is null or v_new is null or v_old -> k.key is distinct from v_new -> k.key);
  if tg_op = 'UPDATE' and v_before is null and v_after is null then
    return null;  -- nothing an auditor would see changed
  end if;
  insert into hookline.audit_log (action, tenant_id, target, reason, before, after)
  values (
    tg_table_name || '.' || pg_catalog.lower(tg_op),
    v_row ->> 'tenant_id',
    pg_catalog.jsonb_build_object(tg_argv[0], v_row -> tg_argv[0]),
    nullif(pg_catalog.current_setting('hookline.reason', true), ''),
    v_before,
    v_after
  );
  return null;
end
$$;

comment on function hookline._audit_row_change() is
  'Migration-owned. Private trigger: records an insert, update or delete of a configuration row in hookline.audit_log (changed columns only, secrets and access tokens as fingerprints; the argument names the id column). Errors: none.';


create trigger _900_audit after insert or delete on hookline.senders
  for each row execute function hookline._audit_row_change('phone_number_id');
create trigger _900_audit_update after update of source_id, access_token, messages_per_second, pair_interval, pair_burst, unconfirmed_wait, timeout_ms, retry_schedule, state, paused_reason
  on hookline.senders
  for each row execute function hookline._audit_row_change('phone_number_id');

insert into hookline.schema_changes (change) values ('table_senders_audit');

COMMIT;
