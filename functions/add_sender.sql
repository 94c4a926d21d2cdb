create or replace function hookline.add_sender(
  source text,
  phone_number_id text,
  access_token text,
  messages_per_second integer default null,
  pair_interval interval default null,
  pair_burst integer default null,
  unconfirmed_wait interval default null,
  timeout_ms integer default null,
  retry_schedule interval[] default null
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_source hookline.sources;
  v_constraint text;
begin
  -- Key share: a concurrent remove_source waits for this call (and then counts the sender), or
  -- this call waits for it and finds no source.
  select s.* into v_source from hookline.sources s where s.name = add_sender.source for key share;
  if not found then
    raise exception using errcode = 'HL001', message = format('unknown source %L', add_sender.source);
  end if;
  if v_source.kind <> 'whatsapp' then
    raise exception using errcode = 'HL062', message = format('source %L is not a whatsapp source', add_sender.source);
  end if;
  if exists (select from hookline.senders s where s.phone_number_id = add_sender.phone_number_id) then
    raise exception using errcode = 'HL063', message = format('sender %L exists', add_sender.phone_number_id),
      hint = 'hookline senders set changes a sender''s token or limits.';
  end if;
  begin
    insert into hookline.senders (phone_number_id, source_id, tenant_id, access_token)
    values (add_sender.phone_number_id, v_source.source_id, v_source.tenant_id, add_sender.access_token);
  exception when check_violation or not_null_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using errcode = 'HL062',
      message = format('invalid sender setting: %s', coalesce(v_constraint, 'a required value is missing')),
      hint = 'docs/outbound.md lists the settings and their ranges.';
  end;
  -- The limits: null keeps the table's default (one place for each default).
  perform hookline.set_sender(
    phone_number_id => add_sender.phone_number_id, messages_per_second => add_sender.messages_per_second,
    pair_interval => add_sender.pair_interval, pair_burst => add_sender.pair_burst,
    unconfirmed_wait => add_sender.unconfirmed_wait, timeout_ms => add_sender.timeout_ms,
    retry_schedule => add_sender.retry_schedule);
end
$$;

comment on function hookline.add_sender(text, text, text, integer, interval, integer, interval, integer, interval[]) is
  'Adds a WhatsApp business number that sends for a whatsapp source: phone number id, access token, and optionally its limits (null: the defaults of hookline.senders: 80 messages per second, one message per 6 s per recipient with a burst of 1, 10 min for an ambiguous send to wait for a status webhook, a 10 s timeout, retries after 5 s, 30 s, 2 min, 10 min, 30 min). Errors: HL001 unknown source; HL062 invalid setting (the message names the rule) or not a whatsapp source; HL063 the number exists.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.add_sender(text,text,text,integer,interval,integer,interval,integer,interval[]) from public;
