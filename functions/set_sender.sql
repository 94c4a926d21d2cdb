create or replace function hookline.set_sender(
  phone_number_id text,
  access_token text default null,
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
  v_constraint text;
begin
  perform hookline._sender(set_sender.phone_number_id);
  begin
    update hookline.senders s
    set access_token = coalesce(set_sender.access_token, s.access_token),
      messages_per_second = coalesce(set_sender.messages_per_second, s.messages_per_second),
      -- least() ignores nulls: an unthrottled sender (null) stays unthrottled.
      throttled_rate = case when s.throttled_rate is not null
                            then least(s.throttled_rate, coalesce(set_sender.messages_per_second, s.messages_per_second)) end,
      pair_interval = coalesce(set_sender.pair_interval, s.pair_interval),
      pair_burst = coalesce(set_sender.pair_burst, s.pair_burst),
      unconfirmed_wait = coalesce(set_sender.unconfirmed_wait, s.unconfirmed_wait),
      timeout_ms = coalesce(set_sender.timeout_ms, s.timeout_ms),
      retry_schedule = coalesce(set_sender.retry_schedule, s.retry_schedule),
      updated_at = pg_catalog.now()
    where s.phone_number_id = set_sender.phone_number_id;
  exception when check_violation then
    get stacked diagnostics v_constraint = constraint_name;
    raise exception using errcode = 'HL062', message = format('invalid sender setting: %s', v_constraint);
  end;
end
$$;

comment on function hookline.set_sender(text, text, integer, interval, integer, interval, integer, interval[]) is
  'Changes a sender''s access token (rotation) or limits; null arguments keep the current value. Errors: HL060 unknown sender; HL062 invalid setting.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.set_sender(text,text,integer,interval,integer,interval,integer,interval[]) from public;
