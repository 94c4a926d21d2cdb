create or replace function hookline.add_sender(
  source text,
  phone_number_id text,
  access_token text,
  messages_per_second integer default 80,
  pair_interval interval default interval '6 seconds',
  pair_burst integer default 1,
  unconfirmed_wait interval default interval '10 minutes',
  timeout_ms integer default 10000,
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
  select s.* into v_source from hookline.sources s where s.name = add_sender.source;
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
    insert into hookline.senders (
      phone_number_id, source_id, tenant_id, access_token, messages_per_second, pair_interval, pair_burst,
      unconfirmed_wait, timeout_ms, retry_schedule
    )
    values (
      add_sender.phone_number_id, v_source.source_id, v_source.tenant_id, add_sender.access_token,
      add_sender.messages_per_second, add_sender.pair_interval, add_sender.pair_burst,
      add_sender.unconfirmed_wait, add_sender.timeout_ms,
      coalesce(add_sender.retry_schedule, array[
        interval '5 seconds', interval '30 seconds', interval '2 minutes', interval '10 minutes', interval '30 minutes'])
    );
  exception when check_violation or not_null_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using errcode = 'HL062',
      message = format('invalid sender setting: %s', coalesce(v_constraint, 'a required value is missing')),
      hint = 'docs/outbound.md lists the settings and their ranges.';
  end;
end
$$;

comment on function hookline.add_sender(text, text, text, integer, interval, integer, interval, integer, interval[]) is
  'Adds a WhatsApp business number that sends for a whatsapp source: phone number id, access token, messages per second (80), pair interval (6 s) and burst (1), how long an ambiguous send waits for a status webhook (10 min), request timeout, retry schedule (null: 5 s, 30 s, 2 min, 10 min, 30 min). Errors: HL001 unknown source; HL062 invalid setting (the message names the rule) or not a whatsapp source; HL063 the number exists.';
