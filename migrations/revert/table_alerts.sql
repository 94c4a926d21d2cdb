-- Revert hookline:table_alerts from pg

BEGIN;

drop table hookline.alerts;
drop table hookline.alert_receivers;
drop table hookline.alert_rules;

COMMIT;
