-- Verify hookline:function_masking from pg

BEGIN;

do $$
begin
  if hookline.mask_phone('4915112345678') <> '+49******78' then
    raise exception 'mask_phone keeps the country code and the last two digits';
  end if;
  if hookline.mask_text('call +14155550123') <> 'call +1******23' then
    raise exception 'mask_text masks phone numbers in text';
  end if;
  if pg_catalog.has_function_privilege('public', 'hookline.mask_payload(jsonb)', 'execute') then
    raise exception 'public must not execute hookline.mask_payload';
  end if;
end
$$;

ROLLBACK;
