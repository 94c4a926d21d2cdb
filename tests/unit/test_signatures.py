"""The ingress's signature checks against independent implementations, on arbitrary bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pywa import utils as pywa_utils
from standardwebhooks.webhooks import Webhook

from hookline.ingress import standard_signature_ok, whatsapp_signature_ok
from tests.ingress_helpers import sign

secrets = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)


@settings(max_examples=200)
@given(secret=secrets, other=secrets, body=st.binary(max_size=500))
def test_whatsapp_signatures_agree_with_pywa(secret: str, other: str, body: bytes) -> None:
    header = sign(secret, body)
    assert whatsapp_signature_ok((secret,), body, header)
    assert pywa_utils.webhook_updates_validator(secret, body, header)
    assert whatsapp_signature_ok((other, secret), body, header), "either of two secrets"
    if other != secret:
        assert not whatsapp_signature_ok((other,), body, header)
        assert not pywa_utils.webhook_updates_validator(other, body, header)


def test_a_whatsapp_signature_must_be_sha256_of_the_raw_bytes() -> None:
    body = b'{"a":"\\u00e4"}'
    assert not whatsapp_signature_ok(("s",), body, None)
    assert not whatsapp_signature_ok(
        ("s",), body, "sha1=" + hmac.new(b"s", body, "sha1").hexdigest()
    )
    assert not whatsapp_signature_ok(("s",), body, sign("s", '{"a":"ä"}'.encode()))
    assert not whatsapp_signature_ok(("s",), body, "sha256=\u00e9")


def test_standard_webhooks_vector_recomputed_with_the_standard_library() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}'
    now = int(datetime.now(UTC).timestamp())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{now}.".encode() + body, hashlib.sha256).digest()
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(now),
               "webhook-signature": "v1,bm90IGl0 v1," + base64.b64encode(mac).decode()}  # fmt: skip
    assert standard_signature_ok(("whsec_b3RoZXI=", secret), body, headers)
    assert not standard_signature_ok(("whsec_b3RoZXI=",), body, headers)
    assert not standard_signature_ok((secret,), body, {**headers, "webhook-signature": "garbage"})
    assert Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body.decode()) == (
        "v1," + base64.b64encode(mac).decode()
    )
