-- Deploy hookline:role_hookline to pg
-- requires: schema_hookline

BEGIN;

-- Group roles (NOLOGIN). Roles are cluster-wide and shared by every database of the server,
-- so they are created only when missing; a DBA grants them to login roles (docs/security.md).
do $$
declare
  v_role text;
begin
  foreach v_role in array array['hookline_owner', 'hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if not exists (select from pg_catalog.pg_roles r where r.rolname = v_role) then
      execute format('create role %I nologin', v_role);
    end if;
  end loop;
end
$$;

comment on role hookline_owner is 'hookline: owns the schema and deploys it; sees every tenant; the only role that touches tables.';
comment on role hookline_ingest is 'hookline: the ingress; may only call hookline.receive, hookline.ingest and hookline.source_credentials.';
comment on role hookline_runner is 'hookline: runners; claim, complete, release, next_due and the job functions; every tenant.';
comment on role hookline_operator is 'hookline: operators; masked views, replay, discard, pause and resume within the tenants hookline.role_tenants maps to them.';
comment on role hookline_readonly is 'hookline: read-only; masked views of the tenants hookline.role_tenants maps to it.';

grant usage on schema hookline to hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

COMMIT;
