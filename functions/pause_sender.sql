create or replace function hookline.pause_sender(phone_number_id text, reason text default 'paused by an operator')
returns text
language plpgsql
set search_path = ''
as $$
begin
  perform hookline._sender(pause_sender.phone_number_id);
  perform pg_catalog.set_config('hookline.reason', coalesce(pause_sender.reason, 'paused by an operator'), true);
  update hookline.senders s
  set state = 'paused', paused_reason = coalesce(pause_sender.reason, 'paused by an operator'), updated_at = pg_catalog.now()
  where s.phone_number_id = pause_sender.phone_number_id and s.state = 'active';
  return 'paused';
end
$$;

comment on function hookline.pause_sender(text, text) is
  'Pauses a sender: its messages stay queued (new ones too) and are not claimed until resume_sender. An account or auth error pauses it too. Returns the state. Errors: HL060 unknown sender.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.pause_sender(text,text) from public;
