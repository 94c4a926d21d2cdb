-- Verify hookline:function_masking_sdp_groups_upi from pg

BEGIN;

do $$
begin
  if hookline.mask_payload('{"calls": [{"session": {"sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 203.0.113.7\r\nc=IN IP4 203.0.113.7\r\na=ice-ufrag:Xy1z\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 AB:CD:EF\r\na=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host\r\na=candidate:2 1 udp 1686052607 203.0.113.7 50001 typ srflx raddr 192.168.1.20 rport 50000\r\n"}}],
                            "groups": [{"subject": "Familie Beispiel", "invite_link": "https://chat.whatsapp.com/AbCdEf"}],
                            "payment": {"reason": "VPA greta.beispiel@okhdfcbank is invalid"}}'::jsonb)
     <> '{"calls": [{"session": {"sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 [ip]\r\nc=IN IP4 [ip]\r\na=ice-ufrag:[masked]\r\na=ice-pwd:[masked]\r\na=fingerprint:sha-256 [masked]\r\na=candidate:1 1 udp 2122260223 [ip] 50000 typ host\r\na=candidate:2 1 udp 1686052607 [ip] 50001 typ srflx raddr [ip] rport 50000\r\n"}}],
          "groups": [{"subject": "[text]", "invite_link": "https://chat.whatsapp.com/[masked]"}],
          "payment": {"reason": "VPA [upi] is invalid"}}'::jsonb then
    raise exception 'mask_payload does not mask SDP addresses and credentials, group subjects and invite links, UPI ids';
  end if;
end
$$;

ROLLBACK;
