-- Revert hookline:role_hookline_sender from pg

BEGIN;

set local lock_timeout = '5s';

-- The role is cluster-wide (other databases may use it): only this database's grant goes.
revoke usage on schema hookline from hookline_sender;

delete from hookline.schema_changes where change = 'role_hookline_sender';

COMMIT;
