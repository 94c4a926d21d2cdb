-- Verify hookline:function_masking_whatsapp_content from pg

BEGIN;

do $$
begin
  if hookline.mask_payload('{"nfm_reply": {"response_json": "{\"first_name\": \"Greta\"}"}, "reaction": {"emoji": "x"},
                            "referral": {"headline": "h", "ctwa_clid": "c"}}'::jsonb)
     <> '{"nfm_reply": {"response_json": "[text]"}, "reaction": {"emoji": "[text]"},
          "referral": {"headline": "[text]", "ctwa_clid": "[text]"}}'::jsonb then
    raise exception 'mask_payload does not mask Flow replies, reactions and referrals';
  end if;
end
$$;

ROLLBACK;
