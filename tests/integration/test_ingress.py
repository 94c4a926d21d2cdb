"""`hookline ingress` as a real process on 127.0.0.1: what WhatsApp (and any Standard Webhooks
sender) sees, and what ends up in the database."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from pywa import WhatsApp
from pywa import utils as pywa_utils
from standardwebhooks.webhooks import Webhook

from tests.ingress_helpers import (
    FIXTURES,
    RunningIngress,
    metric,
    running_ingress,
    sign,
    unique_name,
)
from tests.integration.conftest import wait_until

SECRET = "app-secret-\u00e9"  # a non-ASCII secret: keys are UTF-8 bytes on both sides
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODIES = {p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))}
EXPECTED_TYPES = {
    "text": ["whatsapp.message.text"],
    "image": ["whatsapp.message.image"],
    "interactive": ["whatsapp.message.interactive"],
    "list_reply": ["whatsapp.message.interactive"],
    "location": ["whatsapp.message.location"],
    "contacts": ["whatsapp.message.contacts"],
    "reaction": ["whatsapp.message.reaction"],
    "unsupported": ["whatsapp.message.unsupported"],
    "statuses": ["whatsapp.status.sent", "whatsapp.status.delivered", "whatsapp.status.read",
                 "whatsapp.status.failed"],
    "errors": ["whatsapp.error"],
    "several": ["whatsapp.message.text", "whatsapp.status.sent", "whatsapp.status.delivered",
                "whatsapp.status.read", "whatsapp.status.failed", "whatsapp.message.reaction"],
    "account_update": ["whatsapp.change.account_update"],
    # Shapes taken from other projects' fixtures and Meta's reference pages, moved onto this
    # suite's fake people: david-lev/pywa tests/data/updates/ (edited_message.json,
    # deleted_message.json, outgoing_message.json "delete", system.json, flow_completion.json,
    # message.json "order", "referral" and "interactive_message_with_err",
    # callback_button.json "quick_reply"), nyaruka/courier handlers/meta/testdata/wac/
    # group_message.json, and Meta's history and automatic_events references (a copy in
    # LimaLb01/endpoint-flow docs_whatsappflow/docs_apiwhatsapp/).
    "edit": ["whatsapp.message.edit"],
    "revoke": ["whatsapp.message.revoke"],
    "echo_revoke": ["whatsapp.echo.revoke"],
    "system_number": ["whatsapp.message.system"],
    "group_message": ["whatsapp.message.text"],
    "nfm_reply": ["whatsapp.message.interactive"],
    "order": ["whatsapp.message.order"],
    "referral": ["whatsapp.message.text"],
    "button": ["whatsapp.message.button"],
    "message_with_errors": ["whatsapp.message.interactive", "whatsapp.error"],
    "history_media": ["whatsapp.change.history"],
    "automatic_events": ["whatsapp.change.automatic_events"],
    # Every other field of a WhatsApp Business Account (tests/fixtures/README.md says where
    # each shape comes from).
    "payment_status": ["whatsapp.payment.pending"],
    "user_actions": ["whatsapp.user_action.marketing_messages_link_click"],
    "smb_app_state_sync": ["whatsapp.change.smb_app_state_sync"],
    "account_alerts": ["whatsapp.change.account_alerts"],
    "account_review_update": ["whatsapp.change.account_review_update"],
    "message_template_components_update": ["whatsapp.change.message_template_components_update"],
    "partner_solutions": ["whatsapp.change.partner_solutions"],
    "payment_configuration_update": ["whatsapp.change.payment_configuration_update"],
    "phone_number_name_update": ["whatsapp.change.phone_number_name_update"],
    "phone_number_quality_update": ["whatsapp.change.phone_number_quality_update"],
    "security": ["whatsapp.change.security"],
    "group_participants_update": ["whatsapp.change.group_participants_update"],
    # The fixtures of the masking of SDP, group subjects and UPI ids (tests/fixtures/README.md).
    "call_connect_sdp": ["whatsapp.call.connect"],
    "call_connect_answer": ["whatsapp.call.connect"],
    "group_lifecycle_update": ["whatsapp.change.group_lifecycle_update"],
    "group_settings_update": ["whatsapp.change.group_settings_update"],
    "group_status_update": ["whatsapp.change.group_status_update"],
    "payment_status_upi": ["whatsapp.payment.failed"],
    # The media, contact card, call permission and chat-opened shapes of the payload survey
    # (tests/fixtures/README.md): pywa's tests/data/updates/ and Meta's contacts syntax.
    "document": ["whatsapp.message.document"],
    "audio_voice": ["whatsapp.message.audio"],
    "sticker": ["whatsapp.message.sticker"],
    "video": ["whatsapp.message.video"],
    "contacts_full": ["whatsapp.message.contacts"],
    "call_permission_reply": ["whatsapp.message.interactive"],
    "request_welcome": ["whatsapp.message.request_welcome"],
    "business_capability_update": ["whatsapp.change.business_capability_update"],
}  # fmt: skip


@pytest.fixture(scope="module")
def ingress_db(module_db: str) -> str:
    return module_db


@pytest.fixture(scope="module")
def ingress(ingress_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIngress]:
    log = tmp_path_factory.mktemp("ingress") / "ingress.log"
    with running_ingress(ingress_db, log, "--cache-seconds", "1") as running:
        yield running
    # Nothing personal ever reaches the log: no names, phone numbers or message text.
    text = log.read_text()
    for needle in ("16505551234", "Barbara", "Zo\u00eb", "Viene", "Zo\\u00eb", SECRET, "verify-"):
        assert needle not in text


def add_source(dsn: str, kind: str = "whatsapp", secret: str = SECRET) -> str:
    name = unique_name("wa" if kind == "whatsapp" else "sw")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('acme', %s, %s, %s, %s, 65536, true)",
            (name, kind, secret, f"verify-{name}"),
        )
    return name


@pytest.fixture
def source(ingress_db: str) -> str:
    return add_source(ingress_db)


def post(ingress: RunningIngress, source: str, body: bytes, signature: str | None = None,
         content_type: str = "application/json", **headers: str) -> httpx.Response:  # fmt: skip
    hdrs = {"content-type": content_type, **headers}
    if signature is not None:
        hdrs["x-hub-signature-256"] = signature
    return httpx.post(f"{ingress.url}/webhooks/{source}", content=body, headers=hdrs, timeout=30)


def stored(dsn: str, source: str) -> tuple[int, int]:
    """(raw requests, events) stored for a source."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """select (select count(*) from hookline.raw_requests r join hookline.sources s using (source_id) where s.name = %(s)s),
                      (select count(*) from hookline.events e join hookline.sources s using (source_id) where s.name = %(s)s)""",
            {"s": source},
        ).fetchone()  # fmt: skip


def event_types(dsn: str, source: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select e.event_type from hookline.events e join hookline.sources s using (source_id) "
            "where s.name = %s order by e.event_id",
            (source,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_a_realistic_notification_is_stored_then_acknowledged(
    name: str, ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES[name]
    response = post(ingress, source, body, sign(SECRET, body))
    assert response.status_code == 200, response.text
    assert response.json()["new_events"] == len(EXPECTED_TYPES[name])
    assert event_types(ingress_db, source) == EXPECTED_TYPES[name]
    with psycopg.connect(ingress_db) as conn:
        raw = conn.execute(
            "select r.body from hookline.raw_requests r join hookline.sources s using (source_id) "
            "where s.name = %s",
            (source,),
        ).fetchone()[0]
    assert bytes(raw) == body, "the raw request is kept byte for byte"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_signatures_agree_with_pywa(name: str) -> None:
    body = BODIES[name]
    assert pywa_utils.webhook_updates_validator(SECRET, body, sign(SECRET, body))
    assert not pywa_utils.webhook_updates_validator("another-secret", body, sign(SECRET, body))


def test_a_reserialized_body_fails_verification_and_the_raw_one_passes(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    raw = BODIES["text"]
    signature = sign(SECRET, raw)
    reserialized = json.dumps(json.loads(raw)).encode()
    assert reserialized != raw and b"\\u00bf" in raw and b"\\/" in raw
    assert not pywa_utils.webhook_updates_validator(SECRET, reserialized, signature)
    assert post(ingress, source, reserialized, signature).status_code == 401
    assert stored(ingress_db, source) == (0, 0)
    assert post(ingress, source, raw, signature).status_code == 200


def test_a_redelivered_notification_creates_no_new_event_and_is_still_200(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES["several"]
    first = post(ingress, source, body, sign(SECRET, body))
    again = post(ingress, source, body, sign(SECRET, body))
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["new_events"], again.json()["new_events"]) == (6, 0)
    assert stored(ingress_db, source) == (2, 6), "both requests kept, events once"


def test_concurrent_duplicates_are_stored_once(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES["statuses"]
    barrier = threading.Barrier(8)
    answers: list[int] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(post(ingress, source, body, sign(SECRET, body)).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 8
    assert stored(ingress_db, source) == (8, 4)


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("wrong signature", 401, "signature"),
        ("missing signature", 401, "signature"),
        ("sha1 signature only", 401, "signature"),
        ("signature for another source", 401, "signature"),
        ("truncated body, signature of the whole", 401, "signature"),
        ("truncated body, signed as sent", 400, "invalid input syntax for type json"),
        ("oversized body", 413, "larger than 65536 bytes"),
        ("oversized body without content-length", 413, "larger than 65536 bytes"),
        ("invalid UTF-8", 400, "not UTF-8"),
        ("deeply nested JSON", 400, "stack depth limit exceeded"),
        ("not JSON", 400, "invalid input syntax for type json"),
        ("not a WhatsApp notification", 400, "not a WhatsApp Business Account notification"),
        ("wrong content type", 415, "application/json"),
        ("unknown source", 404, "no such source"),
    ],
)
def test_bad_input_gets_its_status_and_stores_nothing(
    case: str, status: int, reason: str, ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES["text"]
    target, content_type, send, signature = source, "application/json", body, sign(SECRET, body)
    extra: dict[str, str] = {}
    if case == "wrong signature":
        signature = "sha256=" + "0" * 64
    elif case == "missing signature":
        signature = None
    elif case == "sha1 signature only":
        signature, extra = None, {"x-hub-signature": "sha1=" + "0" * 40}
    elif case == "signature for another source":
        signature = sign("the-other-apps-secret", body)
    elif case == "truncated body, signature of the whole":
        send = body[:-10]
    elif case == "truncated body, signed as sent":
        send = body[:-10]
        signature = sign(SECRET, send)
    elif case == "oversized body":
        send = b" " * 70_000 + body
        signature = sign(SECRET, send)
    elif case == "invalid UTF-8":
        send = body.replace(b"Viene", b"Vi\xffne")
        signature = sign(SECRET, send)
    elif case == "deeply nested JSON":
        send = NESTED[:30_000] + NESTED[-30_000:]
        signature = sign(SECRET, send)
    elif case == "not JSON":
        send = b"object=whatsapp_business_account"
        signature = sign(SECRET, send)
    elif case == "not a WhatsApp notification":
        send = b'{"object":"page","entry":[]}'
        signature = sign(SECRET, send)
    elif case == "wrong content type":
        content_type = "application/x-www-form-urlencoded"
    elif case == "unknown source":
        target = "no-such-source"

    if case == "oversized body without content-length":
        send = b" " * 70_000 + body

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(send), 8192):
                yield send[i : i + 8192]

        response = httpx.post(
            f"{ingress.url}/webhooks/{target}", content=chunks(), timeout=30,
            headers={"content-type": content_type, "x-hub-signature-256": sign(SECRET, send)},
        )  # fmt: skip
    else:
        response = post(ingress, target, send, signature, content_type, **extra)
    assert response.status_code == status, response.text
    assert reason in response.text, "the sender gets a short reason"
    assert stored(ingress_db, source) == (0, 0)


def test_the_handshake_echoes_the_challenge_only_for_the_right_token(
    ingress: RunningIngress, source: str
) -> None:
    url = f"{ingress.url}/webhooks/{source}"
    challenge = "1158201444-not-just-digits"
    ok = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": challenge,
                                "hub.verify_token": f"verify-{source}"})  # fmt: skip
    assert (ok.status_code, ok.text) == (200, challenge)
    wrong = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": challenge,
                                   "hub.verify_token": "guess"})  # fmt: skip
    assert wrong.status_code == 403 and challenge not in wrong.text
    mode = httpx.get(url, params={"hub.mode": "unsubscribe", "hub.challenge": challenge,
                                  "hub.verify_token": f"verify-{source}"})  # fmt: skip
    assert mode.status_code == 403
    unknown = httpx.get(f"{ingress.url}/webhooks/nope", params={"hub.mode": "subscribe"})
    assert unknown.status_code == 404


@pytest.mark.slow
def test_during_a_rotation_either_secret_verifies_and_a_retired_one_stops(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES["text"]
    assert post(ingress, source, body, sign(SECRET, body)).status_code == 200  # cached now
    with psycopg.connect(ingress_db, autocommit=True) as conn:
        conn.execute("select hookline.rotate_secret(%s, 'new-secret')", (source,))
    other = BODIES["image"]
    # The new secret verifies at once: a failed check re-reads the source before refusing.
    assert post(ingress, source, other, sign("new-secret", other)).status_code == 200
    assert post(ingress, source, other, sign(SECRET, other)).status_code == 200
    with psycopg.connect(ingress_db, autocommit=True) as conn:
        conn.execute("select hookline.retire_secret(%s)", (source,))
    time.sleep(1.2)  # the ingress runs with --cache-seconds 1: the bound on a retired secret
    assert post(ingress, source, other, sign(SECRET, other)).status_code == 401
    assert post(ingress, source, other, sign("new-secret", other)).status_code == 200


def test_refusals_are_counted_per_source_and_reason(ingress: RunningIngress, source: str) -> None:
    body = BODIES["text"]
    for _ in range(2):
        assert post(ingress, source, body, "sha256=00").status_code == 401
    assert post(ingress, "never-seen-123", body, "x").status_code == 404
    assert httpx.get(f"{ingress.url}/metrics").status_code == 404, "not on the webhook port"
    metrics = httpx.get(ingress.metrics_url).text
    assert (
        f'hookline_ingress_requests_total{{outcome="bad_signature",source="{source}",'
        'status_class="4xx"} 2.0'
    ) in metrics
    assert 'source="(unknown)"' in metrics and "never-seen-123" not in metrics
    assert (
        "refused source=" + source + " status=401 reason=bad_signature" in ingress.log.read_text()
    )


def test_a_stored_request_is_counted_and_timed_but_logged_only_at_debug(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    timed = {"route": "webhook", "status_class": "2xx"}
    before = metric(ingress.metrics_url, "hookline_ingress_request_duration_seconds_count", **timed)
    body = BODIES["several"]
    response = post(ingress, source, body, sign(SECRET, body))
    assert response.status_code == 200, response.text
    # The answer's exact bytes and headers: a JSON object, its length declared.
    answer = response.json()
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"request_id":%d,"events":6,"new_events":6}' % answer["request_id"]
    )
    assert int(response.headers["content-length"]) == len(response.content)
    assert metric(ingress.metrics_url, "hookline_ingress_requests_total", source=source, outcome="stored",
                  status_class="2xx") == 1  # fmt: skip
    assert metric(ingress.metrics_url, "hookline_ingress_events_total", source=source) == 6
    # Observed right after the answer is written (the client may read it a moment before).
    wait_until(
        lambda: (
            metric(ingress.metrics_url, "hookline_ingress_request_duration_seconds_count", **timed)
            == before + 1
        ),
        10,
        "the request's duration",
    )
    # The module's ingress runs at the default level (info): no line per stored request.
    assert f"stored source={source}" not in ingress.log.read_text()


def test_a_chunked_body_is_stored_byte_for_byte(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    body = BODIES["statuses"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    response = httpx.post(
        f"{ingress.url}/webhooks/{source}", content=chunks(), timeout=30,
        headers={"content-type": "application/json", "x-hub-signature-256": sign(SECRET, body)},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    with psycopg.connect(ingress_db) as conn:
        raw = conn.execute(
            "select body from hookline.raw_requests where request_id = %s",
            (response.json()["request_id"],),
        ).fetchone()[0]
    assert bytes(raw) == body


def test_only_a_post_to_a_source_path_is_a_webhook(ingress: RunningIngress, source: str) -> None:
    body = BODIES["text"]
    headers = {"content-type": "application/json", "x-hub-signature-256": sign(SECRET, body)}
    for path in ("/webhooks/", f"/webhooks/{source}/extra", "/webhook/" + source, "/"):
        answer = httpx.post(f"{ingress.url}{path}", content=body, headers=headers)
        assert answer.status_code == 404, path
    assert httpx.post(f"{ingress.url}/healthz", content=body).status_code == 405
    assert httpx.put(f"{ingress.url}/webhooks/{source}", content=body).status_code == 405
    # A percent-encoded name is the source's name decoded, as any HTTP router reads it.
    encoded = "".join(f"%{b:02X}" for b in source.encode())
    assert httpx.post(f"{ingress.url}/webhooks/{encoded}", content=body, headers=headers).status_code == 200  # fmt: skip


def test_health_and_readiness(ingress: RunningIngress) -> None:
    assert httpx.get(f"{ingress.url}/healthz").text == "ok\n"
    ready = httpx.get(f"{ingress.url}/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")


def test_a_standard_webhooks_source_verifies_with_replay_protection(
    ingress: RunningIngress, ingress_db: str
) -> None:
    name = add_source(ingress_db, "standard-webhooks", SW_SECRET)
    body = b'{"type":"invoice.paid","timestamp":"2026-11-28T10:00:00Z","data":{"id":"in_1"}}'

    def send(ts: datetime, msg_id: str = "msg_1") -> httpx.Response:
        signature = Webhook(SW_SECRET).sign(msg_id, ts, body.decode())
        return httpx.post(
            f"{ingress.url}/webhooks/{name}", content=body,
            headers={"content-type": "application/json", "webhook-id": msg_id,
                     "webhook-timestamp": str(int(ts.timestamp())), "webhook-signature": signature},
        )  # fmt: skip

    now = datetime.now(UTC)
    assert send(now - timedelta(minutes=10)).status_code == 401, "an old timestamp is a replay"
    assert stored(ingress_db, name) == (0, 0)
    assert send(now).json()["new_events"] == 1
    assert send(now).json()["new_events"] == 0, "the same webhook-id again is a duplicate"
    assert event_types(ingress_db, name) == ["invoice.paid"]
    # A webhook-id longer than an index entry holds (about 2.7 kB) was answered 500 (the key's
    # insert failed, 54000), and the sender retried it in vain: it is keyed by its digest.
    long_id = "msg_" + secrets.token_hex(1600)
    assert send(now, long_id).json()["new_events"] == 1
    assert send(now, long_id).json()["new_events"] == 0, (
        "the same long webhook-id again is a duplicate"
    )
    assert event_types(ingress_db, name) == ["invoice.paid", "invoice.paid"]


def test_every_event_payload_is_a_notification_pywa_parses(
    ingress: RunningIngress, ingress_db: str, source: str
) -> None:
    """The payload of an event is the notification narrowed to its item: an independent
    WhatsApp library reads each one and finds the same wamid, type and user."""
    body = BODIES["several"]
    assert post(ingress, source, body, sign(SECRET, body)).status_code == 200
    with psycopg.connect(ingress_db) as conn:
        events = conn.execute(
            "select e.external_id, e.event_type, e.user_id, e.payload from hookline.events e "
            "join hookline.sources s using (source_id) where s.name = %s order by e.event_id",
            (source,),
        ).fetchall()
    wa = WhatsApp(phone_id="106540352242922", token="unused", server=None,
                  skip_duplicate_updates=False)  # fmt: skip
    seen: list[tuple[str, str, str | None]] = []
    wa.on_message()(
        lambda _, m: seen.append((m.id, f"whatsapp.message.{m.type}", m.from_user.bsuid))
    )
    wa.on_message_status()(
        lambda _, s: seen.append(
            (f"{s.id}:{s.status}", f"whatsapp.status.{s.status}", s.from_user.bsuid)
        )
    )
    for *_, payload in events:
        assert wa.webhook_update_handler(json.dumps(payload).encode()) == ("ok", 200)
    assert seen == [(ext, typ, user) for ext, typ, user, _ in events]
