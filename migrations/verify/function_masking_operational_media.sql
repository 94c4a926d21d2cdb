-- Verify hookline:function_masking_operational_media from pg

BEGIN;

do $$
begin
  if hookline.mask_payload('{"calls": [{"start_time": "1749416700", "end_time": "1749416760", "duration": 60}],
                            "errors": [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong"}],
                            "order": {"catalog_id": "354160437058781"},
                            "image": {"id": "1003383421387256", "url": "https://lookaside.fbsbx.com/x", "mime_type": "image/jpeg"},
                            "contacts": [{"addresses": [{"street": "Hauptstrasse 5", "city": "Berlin"}]}]}'::jsonb)
     <> '{"calls": [{"start_time": "1749416700", "end_time": "1749416760", "duration": 60}],
          "errors": [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong"}],
          "order": {"catalog_id": "354160437058781"},
          "image": {"id": "[masked]", "url": "[masked]", "mime_type": "image/jpeg"},
          "contacts": [{"addresses": "[text]"}]}'::jsonb then
    raise exception 'mask_payload masks call times, error titles or catalog ids, or shows media ids and urls or contact addresses';
  end if;
end
$$;

ROLLBACK;
