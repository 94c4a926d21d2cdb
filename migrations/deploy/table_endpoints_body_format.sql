-- Deploy hookline:table_endpoints_body_format to pg
-- requires: table_endpoints

BEGIN;

-- A constant default: no table rewrite, a short lock.
alter table hookline.endpoints
  add column body_format text not null default 'envelope',
  add constraint endpoints_body_format_known check (body_format in ('envelope', 'payload'));

comment on column hookline.endpoints.body_format is 'envelope: the delivered body is {type, timestamp, data}; payload: the event''s payload as is (alert receivers, whose payload is already a PagerDuty or Opsgenie request).';

COMMIT;
