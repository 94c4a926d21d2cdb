-- Verify hookline:function_masking_whatsapp_content from pg

BEGIN;

do $$
begin
  if hookline.mask_payload('{"nfm_reply": {"response_json": "{\"first_name\": \"Greta\"}"}, "reaction": {"emoji": "x"},
                            "referral": {"headline": "h", "ctwa_clid": "c"}, "user_id": "US.1349", "parent_user_id": "US.ENT.1181"}'::jsonb)
     <> '{"nfm_reply": {"response_json": "[text]"}, "reaction": {"emoji": "[text]"},
          "referral": {"headline": "[text]", "ctwa_clid": "[text]"}, "user_id": "US.[masked]", "parent_user_id": "US.ENT.[masked]"}'::jsonb then
    raise exception 'mask_payload does not mask Flow replies, reactions, referrals and business-scoped user ids';
  end if;
end
$$;

ROLLBACK;
