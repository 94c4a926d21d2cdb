create or replace function hookline._sender(phone_number_id text)
returns hookline.senders
language plpgsql
stable
set search_path = ''
as $$
declare
  v_s hookline.senders;
begin
  select s.* into v_s from hookline.senders s where s.phone_number_id = _sender.phone_number_id;
  if not found then
    raise exception using
      errcode = 'HL060',
      message = format('unknown sender %L', _sender.phone_number_id),
      hint = 'hookline senders list shows the senders.';
  end if;
  return v_s;
end
$$;

comment on function hookline._sender(text) is
  'Private. The sender of that phone number id. Errors: HL060 unknown sender.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._sender(text) from public;
