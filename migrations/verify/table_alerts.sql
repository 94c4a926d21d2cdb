-- Verify hookline:table_alerts from pg

BEGIN;

select rule_name, metric, threshold, severity, summary, runbook_url, is_enabled from hookline.alert_rules where false;
select receiver_name, format, endpoint_id, source_id, routing_key from hookline.alert_receivers where false;
select alert_id, rule_name, dedup_key, labels, value, state, raised_at, resolved_at from hookline.alerts where false;

ROLLBACK;
