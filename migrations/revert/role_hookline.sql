-- Revert hookline:role_hookline from pg

BEGIN;

-- Roles are cluster-wide: other databases of the server may use them, so the revert only
-- takes back what this database gave them and leaves the roles (and their comments) in place.
revoke usage on schema hookline from hookline_ingest, hookline_runner, hookline_operator, hookline_readonly;

COMMIT;
