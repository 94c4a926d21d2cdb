-- Deploy hookline:role_hookline to pg
-- requires: schema_hookline

BEGIN;

-- Group roles (NOLOGIN). Roles are cluster-wide and shared by every database of the server,
-- so they are created only when missing; a DBA grants them to login roles (docs/security.md).
-- Comments are set only on creation: commenting on an existing role needs CREATEROLE, which a
-- deploying owner need not have.
do $$
declare
  v_role record;
begin
  for v_role in select * from (values
    ('hookline_owner', 'hookline: owns the schema and deploys it; sees every tenant; the only role that touches tables.'),
    ('hookline_ingest', 'hookline: the ingress; may only call hookline.receive, hookline.ingest and hookline.source_credentials.'),
    ('hookline_runner', 'hookline: runners; claim, complete, release, next_due and the job functions; every tenant.'),
    ('hookline_operator', 'hookline: operators; masked views, replay, discard, pause and resume within the tenants hookline.role_tenants maps to them.'),
    ('hookline_readonly', 'hookline: read-only; masked views of the tenants hookline.role_tenants maps to it.')
  ) as r (name, description) loop
    if not exists (select from pg_catalog.pg_roles r where r.rolname = v_role.name) then
      execute format('create role %I nologin', v_role.name);
      execute format('comment on role %I is %L', v_role.name, v_role.description);
    end if;
  end loop;
end
$$;

grant usage on schema hookline to hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

COMMIT;
