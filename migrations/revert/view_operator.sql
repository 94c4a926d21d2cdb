-- Revert hookline:view_operator from pg

BEGIN;

drop view hookline.audit_trail;
drop view hookline.event_log;
drop view hookline.attempt_log;
drop view hookline.endpoint_overview;
drop view hookline.live_deliveries;
drop view hookline.dead_letter_queue;

COMMIT;
