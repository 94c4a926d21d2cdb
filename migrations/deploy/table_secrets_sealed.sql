-- Deploy hookline:table_secrets_sealed to pg
-- requires: table_endpoints
-- requires: table_audit_triggers
-- requires: function_masking_formatted
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Secrets sealed at rest (issue 15): the CLI stores hlenc1.<key id>.<wrapped data key>.<ciphertext>
-- (python_runner/hookline/sealing.py, a key outside the database) and the ingress and the runner
-- open it. An endpoint's signing secret may now be sealed, and an endpoint may hold a previous
-- secret while its signing secret rotates (both sign until the rotation is finished).
-- The format check is replaced by a wider one at once, in the same transaction: no moment
-- without it. endpoints is a configuration table (rows per endpoint, not per event), so the
-- validating scan of the new checks is short.
-- squawk-ignore ban-drop-constraint
alter table hookline.endpoints drop constraint endpoints_signing_secret_format;
-- The wider check replaces it (see above).
-- squawk-ignore constraint-missing-not-valid
alter table hookline.endpoints add constraint endpoints_signing_secret_format
  check (signing_secret ~ '^whsec_[A-Za-z0-9+/=]{16,}$' or signing_secret ~ '^hlenc1\.[A-Za-z0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$');
alter table hookline.endpoints add column previous_signing_secret text;
-- A new column of null values: nothing to scan.
-- squawk-ignore constraint-missing-not-valid
alter table hookline.endpoints add constraint endpoints_previous_signing_secret_format
  check (previous_signing_secret ~ '^whsec_[A-Za-z0-9+/=]{16,}$' or previous_signing_secret ~ '^hlenc1\.[A-Za-z0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$');

comment on column hookline.endpoints.signing_secret is 'Standard Webhooks secret (whsec_ + base64), sealed (hlenc1....) when stored by the CLI; the runner signs with it. Never shown in views.';
comment on column hookline.endpoints.previous_signing_secret is 'While the signing secret rotates: the previous one, which signs too (hookline endpoints rotate-secret; --finish clears it).';

-- Audit fingerprints of secrets, keyed: sha256(key || sha256(key || value)) with the random
-- key of hookline.masking_key (owner only), so a weak secret cannot be guessed offline from
-- the audit log. Shows whether a secret changed, never what it is.
create function hookline._fingerprint(value text)
returns text
language sql
stable
set search_path = ''
begin atomic
  select case when _fingerprint.value is not null then 'keyed:' || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(
    k.key || pg_catalog.sha256(k.key || pg_catalog.convert_to(_fingerprint.value, 'UTF8'))), 'hex'), 16) end
  from hookline.masking_key k;
end;

comment on function hookline._fingerprint(text) is
  'Migration-owned, private. A keyed fingerprint of a secret for the audit log (keyed: and 16 hex digits), keyed with hookline.masking_key. Errors: none.';

revoke all on function hookline._fingerprint(text) from public;

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
  select pg_catalog.jsonb_object_agg(k.key, case when k.key in ('signing_secrets', 'signing_secret', 'previous_signing_secret', 'verify_token', 'access_token')
           then pg_catalog.to_jsonb(hookline._fingerprint(v_old -> k.key #>> '{}'))
           else v_old -> k.key end) filter (where v_old is not null and v_old -> k.key <> 'null'::jsonb),
         pg_catalog.jsonb_object_agg(k.key, case when k.key in ('signing_secrets', 'signing_secret', 'previous_signing_secret', 'verify_token', 'access_token')
           then pg_catalog.to_jsonb(hookline._fingerprint(v_new -> k.key #>> '{}'))
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
  'Migration-owned. Private trigger: records an insert, update or delete of a configuration row in hookline.audit_log (changed columns only, secrets as keyed fingerprints, hookline._fingerprint; the argument names the id column). Errors: none.';

insert into hookline.schema_changes (change) values ('table_secrets_sealed');

COMMIT;
