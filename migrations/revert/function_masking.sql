-- Revert hookline:function_masking from pg

BEGIN;

drop function hookline.mask_payload(jsonb);
drop function hookline.mask_phone(text);
drop function hookline.mask_text(text);
drop function hookline.masking_rules();

COMMIT;
