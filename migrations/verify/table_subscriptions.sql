-- Verify hookline:table_subscriptions from pg

BEGIN;

select subscription_id, tenant_id, endpoint_id, event_type_pattern, source_id, event_type_regex, created_at
from hookline.subscriptions where false;

ROLLBACK;
