-- Deploy hookline:table_endpoints_body_format to pg
-- requires: table_endpoints
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- A constant default: no table rewrite, a short lock.
alter table hookline.endpoints
  add column body_format text not null default 'envelope',
  -- endpoints is a configuration table: checking its rows against the new constraint is short.
  -- squawk-ignore constraint-missing-not-valid
  add constraint endpoints_body_format_known check (body_format in ('envelope', 'payload'));

comment on column hookline.endpoints.body_format is 'envelope: the delivered body is the envelope of docs/envelope.schema.json; payload: the event''s payload as is (alert receivers, whose payload is already a PagerDuty or Opsgenie request).';

insert into hookline.schema_changes (change) values ('table_endpoints_body_format');

COMMIT;
