-- Verify hookline:table_sources from pg

BEGIN;

select source_id, tenant_id, name, kind, signing_secrets, verify_token, max_body_bytes, created_at, updated_at
from hookline.sources where false;

ROLLBACK;
