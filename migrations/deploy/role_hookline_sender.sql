-- Deploy hookline:role_hookline_sender to pg
-- requires: role_hookline
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- The group role of handlers that send WhatsApp messages: a DBA grants it to a handler's login
-- role (docs/outbound.md) instead of granting on the function, so the grant survives any
-- redeploy of hookline.send_message. It gives usage on the schema; functions/send_message.sql
-- grants execute to it.
do $$
begin
  if not exists (select from pg_catalog.pg_roles r where r.rolname = 'hookline_sender') then
    create role hookline_sender nologin;
    comment on role hookline_sender is 'hookline: handlers that queue outbound WhatsApp messages; may only call hookline.send_message.';
  end if;
end
$$;

grant usage on schema hookline to hookline_sender;

insert into hookline.schema_changes (change) values ('role_hookline_sender');

COMMIT;
