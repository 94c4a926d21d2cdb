-- Verify hookline:function_masking_whatsapp_fields from pg

BEGIN;

do $$
begin
  if hookline.mask_payload('{"state_sync": [{"contact": {"full_name": "Greta Beispiel"}}],
                            "history": [{"threads": [{"id": "4915112345678", "messages": []}]}], "calls": [{"id": "wacid.HBgL1"}]}'::jsonb)
     <> '{"state_sync": [{"contact": {"full_name": "[name]"}}],
          "history": [{"threads": [{"id": "+49******78", "messages": []}]}], "calls": [{"id": "wacid.[masked]"}]}'::jsonb then
    raise exception 'mask_payload does not mask synchronised contact names, history chats and call ids';
  end if;
  if hookline.mask_external_id('call:wacid.HBgL1:connect') not like 'call:wacid.#%' then
    raise exception 'mask_external_id does not hash call keys';
  end if;
end
$$;

ROLLBACK;
