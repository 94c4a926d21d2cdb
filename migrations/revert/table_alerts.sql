-- Revert hookline:table_alerts from pg

BEGIN;

set local lock_timeout = '5s';

drop table hookline.alerts;
drop table hookline.alert_receivers;
drop table hookline.alert_rules;

delete from hookline.schema_changes where change = 'table_alerts';

COMMIT;
