-- Deploy hookline:table_tenants_allows_http to pg
-- requires: table_tenants

BEGIN;

alter table hookline.tenants add column allows_http boolean not null default false;
comment on column hookline.tenants.allows_http is 'Whether the tenant''s endpoints may use plain http to hosts other than loopback (hookline.allow_http); https otherwise.';

COMMIT;
