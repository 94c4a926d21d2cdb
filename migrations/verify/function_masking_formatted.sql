-- Verify hookline:function_masking_formatted from pg

BEGIN;

do $$
begin
  if hookline.mask_text('call +49 151 12345678 or (650) 555-1234 re wamid.HBgLMTY1MDM4Nzk0MzkVAgAR') ~ '[0-9]{3}'
     or hookline.mask_json('{"a": ["+4915112345678"]}') <> '{"a": ["+49******78"]}'
     or hookline.mask_external_id('wamid.HBgLMTY1MDM4Nzk0MzkVAgAR') !~ '^wamid\.#[0-9a-f]{20}$'
     or pg_catalog.has_function_privilege('hookline_operator', 'hookline.mask_external_id(text)', 'execute') then
    raise exception 'the masking functions do not mask as they should';
  end if;
end
$$;

ROLLBACK;
