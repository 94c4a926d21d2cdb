-- Revert hookline:table_audit_triggers from pg

BEGIN;

drop trigger _900_audit on hookline.jobs;
drop trigger _900_audit on hookline.role_tenants;
drop trigger _900_audit on hookline.subscriptions;
drop trigger _900_audit on hookline.endpoints;
drop trigger _900_audit on hookline.sources;
drop trigger _900_audit on hookline.tenants;
drop function hookline._audit_row_change();

COMMIT;
