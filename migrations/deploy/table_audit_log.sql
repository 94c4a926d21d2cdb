-- Deploy hookline:table_audit_log to pg
-- requires: table_role_tenants

BEGIN;

-- Append-only record of every operator and admin action. Rows are chained: each row's hash
-- covers its contents and the previous row's hash, so a deleted or altered row (by a
-- superuser, who can get past any trigger or grant) shows in hookline.verify_audit().
create table hookline.audit_log (
  audit_id bigint generated always as identity primary key,
  recorded_at timestamptz not null default pg_catalog.clock_timestamp(),
  session_user_name name not null default session_user,
  current_user_name name not null default current_user,
  acting_role name not null default hookline._caller(),
  action text not null,
  tenant_id text,
  target jsonb not null default '{}',
  reason text,
  before jsonb,
  after jsonb,
  prev_hash bytea,
  hash bytea not null,
  constraint audit_log_action_format check (action ~ '^[a-z_]+\.[a-z_]+$')
);

create index audit_log_tenant_id_audit_id_idx on hookline.audit_log (tenant_id, audit_id);

comment on table hookline.audit_log is 'Append-only audit trail of operator and admin actions, hash-chained (hookline.verify_audit). No role may update or delete rows.';
comment on column hookline.audit_log.audit_id is 'Position in the chain.';
comment on column hookline.audit_log.recorded_at is 'When the action was recorded (clock time).';
comment on column hookline.audit_log.session_user_name is 'session_user: the login role.';
comment on column hookline.audit_log.current_user_name is 'current_user: inside a SECURITY DEFINER function its owner.';
comment on column hookline.audit_log.acting_role is 'The role the session acted as (SET ROLE, else the login role): who the action is attributed to.';
comment on column hookline.audit_log.action is 'What was done, <object>.<verb>: delivery.replay, delivery.discard, endpoints.update, sources.insert, role_tenants.delete ...';
comment on column hookline.audit_log.tenant_id is 'The tenant acted on; null for actions on no single tenant.';
comment on column hookline.audit_log.target is 'The ids acted on, e.g. {"delivery_ids": [..]} or {"endpoint_id": 3}.';
comment on column hookline.audit_log.reason is 'The reason the command was given, if it takes one.';
comment on column hookline.audit_log.before is 'Compact state before: changed columns only (secrets as fingerprints), or counts by state.';
comment on column hookline.audit_log.after is 'Compact state after, like before.';
comment on column hookline.audit_log.prev_hash is 'hash of the previous row (null for the first).';
comment on column hookline.audit_log.hash is 'sha256 of prev_hash and this row''s contents (hookline._audit_hash).';

-- The newest row's id and hash, kept apart from the rows: writers chain to it without reading
-- audit_log (whose forced row level security shows a non-superuser owner's function only the
-- caller's tenants' rows), and verify_audit compares it with the newest row it finds, so
-- deleting the newest rows shows too.
create table hookline.audit_head (
  is_head boolean primary key default true,
  audit_id bigint not null,
  hash bytea not null,
  constraint audit_head_one_row check (is_head)
);

comment on table hookline.audit_head is 'The head of the audit chain: the newest audit row''s id and hash (one row). Owner only.';
comment on column hookline.audit_head.is_head is 'Always true: the table has one row.';
comment on column hookline.audit_head.audit_id is 'The newest audit row.';
comment on column hookline.audit_head.hash is 'Its hash.';

-- Declared immutable: every input is a value of the row; epoch does not depend on TimeZone.
create function hookline._audit_hash(
  prev_hash bytea, audit_id bigint, recorded_at timestamptz, session_user_name name, current_user_name name,
  acting_role name, action text, tenant_id text, target jsonb, reason text, before jsonb, after jsonb
)
returns bytea
language sql
immutable
set search_path = ''
begin atomic
  select pg_catalog.sha256(
    coalesce(_audit_hash.prev_hash, ''::bytea)
    || pg_catalog.convert_to(pg_catalog.jsonb_build_array(
      _audit_hash.audit_id, extract(epoch from _audit_hash.recorded_at), _audit_hash.session_user_name,
      _audit_hash.current_user_name, _audit_hash.acting_role, _audit_hash.action, _audit_hash.tenant_id,
      _audit_hash.target, _audit_hash.reason, _audit_hash.before, _audit_hash.after
    )::text, 'UTF8')
  );
end;

comment on function hookline._audit_hash(bytea, bigint, timestamptz, name, name, name, text, text, jsonb, text, jsonb, jsonb) is
  'Migration-owned, private. The chained hash of an audit row: sha256(prev_hash || the row''s values as a JSON array). Errors: none.';

revoke all on function hookline._audit_hash(bytea, bigint, timestamptz, name, name, name, text, text, jsonb, text, jsonb, jsonb) from public;

alter table hookline.audit_log add constraint audit_log_hash_matches check (
  hash = hookline._audit_hash(prev_hash, audit_id, recorded_at, session_user_name, current_user_name,
    acting_role, action, tenant_id, target, reason, before, after)
);

-- Chains a new row to the newest one. The advisory lock orders writers; it is held to the end
-- of the writing transaction, so the chain follows commit order.
create function hookline._audit_log_chain()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.audit_log'));
  new.session_user_name := session_user;
  new.current_user_name := current_user;
  new.acting_role := hookline._caller();
  new.recorded_at := pg_catalog.clock_timestamp();
  select h.hash into new.prev_hash from hookline.audit_head h;
  new.hash := hookline._audit_hash(new.prev_hash, new.audit_id, new.recorded_at, new.session_user_name,
    new.current_user_name, new.acting_role, new.action, new.tenant_id, new.target, new.reason, new.before, new.after);
  insert into hookline.audit_head (is_head, audit_id, hash) values (true, new.audit_id, new.hash)
  on conflict (is_head) do update set audit_id = excluded.audit_id, hash = excluded.hash;
  return new;
end
$$;

comment on function hookline._audit_log_chain() is
  'Migration-owned. Private trigger: fills in who and when, chains the new audit row to the head (hookline.audit_head) and makes it the head. Errors: none.';

create function hookline._audit_log_append_only()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception using
    errcode = 'HL080',
    message = 'the audit log is append-only',
    hint = 'Audit rows are never updated or deleted; hookline.verify_audit() checks the chain.';
end
$$;

comment on function hookline._audit_log_append_only() is
  'Migration-owned. Private trigger: refuses every update, delete and truncate of hookline.audit_log. Errors: HL080.';

revoke all on function hookline._audit_log_chain(), hookline._audit_log_append_only() from public;

create trigger _100_audit_log_chain before insert on hookline.audit_log
  for each row execute function hookline._audit_log_chain();
create trigger _900_audit_log_no_update before update or delete on hookline.audit_log
  for each row execute function hookline._audit_log_append_only();
create trigger _900_audit_log_no_truncate before truncate on hookline.audit_log
  for each statement execute function hookline._audit_log_append_only();

COMMIT;
