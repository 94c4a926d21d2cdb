create or replace function hookline.reseal_secrets(changes jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer := 0;
  v_n integer;
  v_c record;
begin
  -- Each change replaces one stored secret by the same secret sealed anew, if the stored value
  -- is still the one the caller read (compared by sha256, so the old value is not sent back):
  -- a secret rotated meanwhile is left alone. Runs once per rekey, a row per secret.
  perform pg_catalog.set_config('hookline.reason', 'secrets resealed under a new key', true);
  for v_c in
    select c.kind, c.ref, c.slot, pg_catalog.decode(c.old_sha256, 'hex') as old_sha256, c.new
    from pg_catalog.jsonb_to_recordset(reseal_secrets.changes) as c (kind text, ref text, slot integer, old_sha256 text, new text)
  loop
    case v_c.kind
      when 'source_signing_secret' then
        update hookline.sources s set signing_secrets[v_c.slot] = v_c.new
        where s.name = v_c.ref and pg_catalog.sha256(pg_catalog.convert_to(s.signing_secrets[v_c.slot], 'UTF8')) = v_c.old_sha256;
      when 'source_verify_token' then
        update hookline.sources s set verify_token = v_c.new
        where s.name = v_c.ref and pg_catalog.sha256(pg_catalog.convert_to(s.verify_token, 'UTF8')) = v_c.old_sha256;
      when 'endpoint_signing_secret' then
        update hookline.endpoints e
        set signing_secret = case when v_c.slot = 1 then v_c.new else e.signing_secret end,
            previous_signing_secret = case when v_c.slot = 2 then v_c.new else e.previous_signing_secret end
        where e.name = v_c.ref and pg_catalog.sha256(pg_catalog.convert_to(
          case when v_c.slot = 1 then e.signing_secret else e.previous_signing_secret end, 'UTF8')) = v_c.old_sha256;
      when 'sender_access_token' then
        update hookline.senders s set access_token = v_c.new
        where s.phone_number_id = v_c.ref and pg_catalog.sha256(pg_catalog.convert_to(s.access_token, 'UTF8')) = v_c.old_sha256;
      else
        raise exception using errcode = 'HL090', message = format('unknown secret kind %L', v_c.kind);
    end case;
    get diagnostics v_n = row_count;
    v_count := v_count + v_n;
  end loop;
  return v_count;
end
$$;

comment on function hookline.reseal_secrets(jsonb) is
  'Replaces stored secrets by the same secrets sealed anew (hookline secrets rekey): changes is a JSON array of {kind, ref, slot, old_sha256, new} as hookline.stored_secrets() names them; a secret whose stored value no longer has old_sha256 is left alone. Audited by the tables'' triggers (keyed fingerprints). Returns how many were replaced. Errors: HL090 unknown kind.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.reseal_secrets(jsonb) from public;
