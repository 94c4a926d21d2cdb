"""Real WhatsApp notification shapes through `hookline ingress` (HTTP), into the database and
out to a delivery that a runner POSTs to a real HTTP target: batches from many users, group
receipts, calls, non-message fields, bodies jsonb cannot hold, keys per occurrence, and the
delivered envelope checked against docs/envelope.schema.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jsonschema
import psycopg
import pytest
from pywa import WhatsApp
from standardwebhooks.webhooks import Webhook

from tests.conftest import Server
from tests.ingress_helpers import (
    FIXTURES,
    Proxy,
    RunningIngress,
    running_ingress,
    sign,
    unique_name,
)
from tests.integration.conftest import RunnerProcess, wait_until
from tests.target import Target

SECRET = "app-secret-\u00e9"
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "envelope.schema.json").read_text())
BODIES = {p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))}
NAMES = {  # the people in the fixtures: a delivery names only the one its item is about
    "US.13491208655302741918": "Zo\u00eb \u00c4rger",
    "US.22817719182837465512": "Barbara J. Johnson",
    "US.90817263544536271809": "\u0645\u0631\u064a\u0645",
}


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    t = Target().start()
    yield t
    t.stop()


@pytest.fixture(scope="module")
def ingress(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIngress]:
    log = tmp_path_factory.mktemp("ingress-wa") / "ingress.log"
    with running_ingress(module_db, log, "--cache-seconds", "1") as running:
        yield running
    text = log.read_text()
    for needle in (*NAMES.values(), "16505551234", "14125550829", "pedido", SECRET):
        assert needle not in text, "nothing personal reaches the log"


@pytest.fixture(scope="module")
def runner(module_db: str) -> Iterator[RunnerProcess]:
    r = RunnerProcess(module_db, "wa-runner")
    yield r
    r.stop()


class Wired:
    """A source and an endpoint subscribed to all its whatsapp.* events at `path`."""

    def __init__(
        self, dsn: str, target: Target, path: str = "/ok", schedule: str = "{0.2 s}"
    ) -> None:
        self.dsn, self.target = dsn, target
        self.source = unique_name("wa")
        self.path = f"{path}/{self.source}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "select hookline.add_source('acme', %s, 'whatsapp', %s, null, 65536, true)",
                (self.source, SECRET),
            )
            self.secret = conn.execute(
                "select secret from hookline.add_endpoint(tenant => 'acme', name => %s, url => %s, "
                "retry_schedule => %s::interval[])",
                (self.source, target.url(self.path), schedule),
            ).fetchone()[0]
            conn.execute("select hookline.add_subscription(%s, 'whatsapp.*', source => %s)",
                         (self.source, self.source))  # fmt: skip

    def post(self, ingress: RunningIngress, body: bytes) -> dict:
        response = httpx.post(
            f"{ingress.url}/webhooks/{self.source}", content=body, timeout=30,
            headers={"content-type": "application/json", "x-hub-signature-256": sign(SECRET, body)},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    def requests(self) -> list:
        with self.target.lock:
            return [r for r in self.target.requests if r.path == self.path]

    def delivered(self, count: int) -> list[dict]:
        """The first `count` delivered bodies, each signed and valid against the schema."""
        wait_until(lambda: len(self.requests()) >= count, what=f"{count} deliveries")
        bodies = []
        for req in self.requests()[:count]:
            body = Webhook(self.secret).verify(req.body, req.headers)
            jsonschema.validate(body, SCHEMA)
            for key in ("timestamp", "occurred_at", "received_at"):
                if body[key] is not None:
                    datetime.fromisoformat(body[key])
            bodies.append(body)
        return sorted(bodies, key=lambda b: int(b["id"][4:]))


@pytest.fixture
def wired(module_db: str, target: Target, runner: RunnerProcess) -> Wired:
    return Wired(module_db, target)


def at(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


def item_of(envelope: dict, kind: str) -> dict:
    return envelope["data"]["entry"][0]["changes"][0]["value"][kind][0]


def test_a_batch_from_many_users_gives_each_event_only_its_own_contact(
    ingress: RunningIngress, wired: Wired
) -> None:
    assert wired.post(ingress, BODIES["messages_many_users"])["new_events"] == 3
    got = wired.delivered(3)
    assert [d["type"] for d in got] == ["whatsapp.message.text"] * 3
    assert [d["whatsapp"]["wa_id"] for d in got] == ["16505551234", "14125550829", None]
    assert [d["occurred_at"] for d in got] == [at(1749416400), at(1749416401), at(1749416402)]
    for d in got:
        user = d["whatsapp"]["user_id"]
        assert d["whatsapp"]["phone_number_id"] == "106540352242922" and d["source"] == wired.source
        assert item_of(d, "messages")["from_user_id"] == user
        contacts = d["data"]["entry"][0]["changes"][0]["value"]["contacts"]
        assert [c["user_id"] for c in contacts] == [user]
        text = json.dumps(d, ensure_ascii=False)
        assert [n for n in NAMES.values() if n in text] == [NAMES[user]], "no other user's name"
    # An independent library reads each delivered payload as a notification of its own.
    wa = WhatsApp(phone_id="106540352242922", token="unused", server=None,
                  skip_duplicate_updates=False)  # fmt: skip
    seen: list[tuple[str, str | None]] = []
    wa.on_message()(lambda _, m: seen.append((m.id, m.from_user.bsuid)))
    for d in got:
        assert wa.webhook_update_handler(json.dumps(d["data"]).encode()) == ("ok", 200)
    assert seen == [(item_of(d, "messages")["id"], d["whatsapp"]["user_id"]) for d in got]


def test_statuses_to_many_users_name_each_recipient(ingress: RunningIngress, wired: Wired) -> None:
    assert wired.post(ingress, BODIES["statuses_many_users"])["new_events"] == 3
    got = wired.delivered(3)
    assert [d["type"] for d in got] == ["whatsapp.status.delivered"] * 3
    assert [d["whatsapp"]["wa_id"] for d in got] == ["16505551234", "14125550829", None]
    for d in got:
        contacts = d["data"]["entry"][0]["changes"][0]["value"]["contacts"]
        assert [c["user_id"] for c in contacts] == [d["whatsapp"]["user_id"]]


def test_group_read_receipts_are_one_event_per_reader(
    ingress: RunningIngress, wired: Wired
) -> None:
    body = BODIES["group_receipts"]
    assert wired.post(ingress, body)["new_events"] == 3, "three readers, three events"
    assert wired.post(ingress, body)["new_events"] == 0, "a retry is still a duplicate"
    got = wired.delivered(3)
    assert {d["type"] for d in got} == {"whatsapp.status.read"}
    assert [(d["whatsapp"]["wa_id"], d["whatsapp"]["user_id"]) for d in got] == [
        ("16505551234", "US.13491208655302741918"),
        ("14125550829", "US.22817719182837465512"),
        (None, "US.90817263544536271809"),
    ], "the participant, not the group"
    assert {item_of(d, "statuses")["recipient_id"] for d in got} == {"120363025311111111"}


def test_calls_are_typed_call_events_keyed_per_call_and_event(
    ingress: RunningIngress, wired: Wired
) -> None:
    assert wired.post(ingress, BODIES["call_connect"])["new_events"] == 1
    assert wired.post(ingress, BODIES["call_terminate"])["new_events"] == 1
    assert wired.post(ingress, BODIES["call_terminate"])["new_events"] == 0
    other = BODIES["call_terminate"].replace(b"wacid.HBgLcall1", b"wacid.HBgLcall9")
    assert wired.post(ingress, other)["new_events"] == 1, "another call ending with the same error"
    assert wired.post(ingress, BODIES["call_status"])["new_events"] == 1
    got = wired.delivered(4)
    assert [d["type"] for d in got] == ["whatsapp.call.connect", "whatsapp.call.terminate",
                                        "whatsapp.call.terminate", "whatsapp.call.status.ringing"]  # fmt: skip
    terminate = got[1]["data"]["entry"][0]["changes"][0]["value"]
    assert terminate["errors"][0]["code"] == 138006, "the call's error travels with the call"
    assert [d["whatsapp"]["wa_id"] for d in got] == ["16505551234"] * 4
    assert [d["occurred_at"] for d in got] == [at(1749416700), at(1749416760), at(1749416760),
                                               at(1749416800)]  # fmt: skip
    # pywa reads them as calls too.
    wa = WhatsApp(phone_id="106540352242922", token="unused", server=None,
                  skip_duplicate_updates=False)  # fmt: skip
    seen: list[str] = []
    wa.on_call_connect()(lambda _, c: seen.append(f"connect {c.id}"))
    wa.on_call_terminate()(lambda _, c: seen.append(f"terminate {c.id} {c.error.code}"))
    wa.on_call_status()(lambda _, c: seen.append(f"status {c.id} {c.status}"))
    for d in got:
        assert wa.webhook_update_handler(json.dumps(d["data"]).encode()) == ("ok", 200)
    assert seen == ["connect wacid.HBgLcall1", "terminate wacid.HBgLcall1 138006",
                    "terminate wacid.HBgLcall9 138006", "status wacid.HBgLcall2 RINGING"]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "event_type", "occurred"),
    [
        ("account_update", "whatsapp.change.account_update", 1749416383),
        ("template_status", "whatsapp.change.message_template_status_update", 1749417100),
        ("template_quality", "whatsapp.change.message_template_quality_update", 1749417200),
        ("template_category", "whatsapp.change.template_category_update", 1749417300),
        ("unknown_field", "whatsapp.change.brand_new_field_2027", 1749417400),
        ("history", "whatsapp.change.history", 1749417600),
        ("user_preferences", "whatsapp.user_preferences", 1749417000),
        ("message_echo", "whatsapp.echo.text", 1749416900),
        ("payment_status", "whatsapp.payment.pending", 1749417830),
        ("user_actions", "whatsapp.user_action.marketing_messages_link_click", 1749418200),
        ("phone_number_quality_update", "whatsapp.change.phone_number_quality_update", 1748454394),
        ("account_alerts", "whatsapp.change.account_alerts", 1745612159),
    ],
)
def test_other_fields_are_typed_and_timed(
    name: str, event_type: str, occurred: int, ingress: RunningIngress, wired: Wired
) -> None:
    assert wired.post(ingress, BODIES[name])["new_events"] == 1
    assert wired.post(ingress, BODIES[name])["new_events"] == 0
    (got,) = wired.delivered(1)
    assert (got["type"], got["occurred_at"]) == (event_type, at(occurred))
    if name in ("user_preferences", "message_echo", "payment_status"):
        assert got["whatsapp"]["wa_id"] == "16505551234"
        assert got["whatsapp"]["user_id"] == "US.13491208655302741918"


# What makes a later notification of each field distinct from a retry of the earlier one: the
# entry's time (every field whose Meta reference has one), else the timestamp inside the change
# (smb_app_state_sync, group_* and user_actions have no entry time in Meta's references).
LATER = {
    "account_update": (b'"time":1749416383', b'"time":1749416443'),
    "template_status": (b'"time":1749417100', b'"time":1749417160'),
    "template_quality": (b'"time":1749417200', b'"time":1749417260'),
    "template_category": (b'"time":1749417300', b'"time":1749417360'),
    "message_template_components_update": (b'"time":1751250234', b'"time":1751250294'),
    "account_alerts": (b'"time":1745612159', b'"time":1745612219'),
    "account_review_update": (b'"time":1739321024', b'"time":1739321084'),
    "partner_solutions": (b'"time":1739321024', b'"time":1739321084'),
    "payment_configuration_update": (b'"time":1739321024', b'"time":1739321084'),
    "phone_number_name_update": (b'"time":1739321024', b'"time":1739321084'),
    "phone_number_quality_update": (b'"time":1748454394', b'"time":1748454454'),
    "security": (b'"time":1748811473', b'"time":1748811533'),
    "business_capability_update": (b'"time":1739321024', b'"time":1739321084'),
    "smb_app_state_sync": (b'"timestamp":"1749418000"', b'"timestamp":"1749418060"'),
    "group_participants_update": (b'"timestamp":1749418100', b'"timestamp":1749418160'),
    "group_lifecycle_update": (b'"timestamp":"1749418300"', b'"timestamp":"1749418360"'),
    "group_settings_update": (b'"timestamp":"1749418400"', b'"timestamp":"1749418460"'),
    "group_status_update": (b'"timestamp":"1749418500"', b'"timestamp":"1749418560"'),
    "user_actions": (b'"timestamp":"1749418200"', b'"timestamp":"1749418260"'),
    "user_preferences": (b'"timestamp":1749417000', b'"timestamp":1749417060'),
    "automatic_events": (b'"timestamp":1749069131', b'"timestamp":1749069191'),
    # Payments: the same payment pending again, for the user's next transaction.
    "payment_status": (b'"pay_txn_a"', b'"pay_txn_b"'),
}


@pytest.mark.parametrize("name", sorted(LATER))
def test_a_later_notification_is_new_and_a_retry_is_not(
    name: str, ingress: RunningIngress, wired: Wired
) -> None:
    """Two distinct notifications of one field never share a key (the second would be dropped
    as a duplicate: a lost webhook), and a retry of either always does."""
    old, new = LATER[name]
    body = BODIES[name]
    later = body.replace(old, new)
    assert later != body and body.count(old) == 1
    assert wired.post(ingress, body)["new_events"] == 1
    assert wired.post(ingress, body)["new_events"] == 0, "a retry"
    assert wired.post(ingress, later)["new_events"] == 1, "the same update, later"
    assert wired.post(ingress, later)["new_events"] == 0, "its retry"
    first, second = wired.delivered(2)
    assert first["type"] == second["type"]


# What each of these fixtures carries that only handlers may read (migrations
# function_masking_sdp_groups_upi and function_masking_operational_media mask it in event_log).
PRIVATE = {
    "call_connect_sdp": ["203.0.113.45", "192.168.1.23", "a=ice-pwd:Qk8yV3nX2pL9mZ4wB7cD1fG5"],
    "call_connect_answer": ["203.0.113.88", "10.20.30.40", "a=ice-ufrag:Mq2Z"],
    "group_lifecycle_update": ["https://chat.whatsapp.com/KxQ2mZp8Rw4LtVb9", "Geburtstag 12.7."],
    "group_settings_update": ["running club"],
    "payment_status_upi": ["payer VPA zoe.arger@okhdfcbank"],
    # function_masking_operational_media: media ids, urls and filenames, a card's addresses.
    "document": ['"1234567890987654"', "Mietvertrag.pdf", "attachments/?mid="],
    "contacts_full": ["Hauptstrasse 5", '"10827"'],
}


def test_handlers_get_sdp_groups_and_upi_ids_whole_while_event_log_masks_them(
    ingress: RunningIngress, wired: Wired, module_db: str
) -> None:
    """Masking is for operators: the delivery carries the payload as Meta sent it (a handler
    answers the call with the SDP), event_log shows it masked."""
    for name in PRIVATE:
        assert wired.post(ingress, BODIES[name])["new_events"] == 1
    delivered = json.dumps([d["data"] for d in wired.delivered(len(PRIVATE))], ensure_ascii=False)
    with psycopg.connect(module_db) as conn:
        shown = json.dumps(conn.execute("select payload from hookline.event_log where source = %s",
                                        (wired.source,)).fetchall(), ensure_ascii=False)  # fmt: skip
    for name, values in PRIVATE.items():
        for value in values:
            assert value in delivered, (name, value)
            assert value not in shown, (name, value)
    assert shown.count("a=ice-pwd:[masked]") == 2 and "https://chat.whatsapp.com/[masked]" in shown
    assert "payer VPA [upi]" in shown


def test_the_history_of_past_chats_is_never_a_live_message(
    ingress: RunningIngress, wired: Wired
) -> None:
    """Meta sends the media of past chats (the WhatsApp Business app's history, synchronised
    once) as messages[] of a change whose field is history (Meta's history webhook reference,
    "a media message's contents"; a copy in LimaLb01/endpoint-flow,
    docs_whatsappflow/docs_apiwhatsapp/history.md). They are one whatsapp.change.history event
    like the history chunks, never a whatsapp.message.image that a bot would answer."""
    body = BODIES["history_media"]
    assert wired.post(ingress, body)["new_events"] == 1
    assert wired.post(ingress, body)["new_events"] == 0, "a retry"
    (got,) = wired.delivered(1)
    assert got["type"] == "whatsapp.change.history"
    assert (got["whatsapp"]["user_id"], got["whatsapp"]["wa_id"]) == (None, None)
    assert got["data"]["entry"][0]["changes"][0]["field"] == "history"
    assert item_of(got, "messages")["image"]["id"] == "24230790383178626", "kept whole"


def test_without_any_time_an_event_happened_when_it_arrived(
    ingress: RunningIngress, wired: Wired
) -> None:
    body = BODIES["account_update"].replace(b'"time":1749416383,', b"")
    assert b'"time"' not in body
    wired.post(ingress, body)
    (got,) = wired.delivered(1)
    assert got["occurred_at"] == got["received_at"]


def test_errors_never_collapse_two_occurrences(ingress: RunningIngress, wired: Wired) -> None:
    body = BODIES["errors"]
    assert wired.post(ingress, body)["new_events"] == 1
    assert wired.post(ingress, body)["new_events"] == 0, "a retry"
    later = body.replace(b'"id":"102290129340398",', b'"id":"102290129340398","time":1749417500,')
    assert wired.post(ingress, later)["new_events"] == 1, "the same error, later"
    two = body.replace(
        b'"errors":[{', b'"errors":[{"code":131000,"title":"Something went wrong"},{'
    )
    assert wired.post(ingress, two)["new_events"] == 2, "two identical errors in one change"
    assert {d["type"] for d in wired.delivered(4)} == {"whatsapp.error"}


@pytest.mark.parametrize(
    ("bad", "name"),
    [(b"\\u0000", "NUL"), (b"\\ud83d", "lone high surrogate"), (b"\\udc4d", "lone low surrogate")],
)
def test_a_character_jsonb_cannot_hold_refuses_nothing(
    bad: bytes, name: str, ingress: RunningIngress, wired: Wired, module_db: str
) -> None:
    body = BODIES["messages_many_users"].replace(b"pedido 1", b"pedido " + bad + b"1")
    assert body != BODIES["messages_many_users"]
    answer = wired.post(ingress, body)
    assert answer["new_events"] == 3, f"a {name} in one item of three"
    with psycopg.connect(module_db) as conn:
        raw = conn.execute(
            "select body from hookline.raw_requests where request_id = %s", (answer["request_id"],)
        ).fetchone()[0]
    assert bytes(raw) == body, "the raw request is kept as received"
    got = wired.delivered(3)
    assert [d.get("sanitized") for d in got] == [
        None, ["/entry/0/changes/0/value/messages/0/text/body"], None
    ]  # fmt: skip
    assert item_of(got[1], "messages")["text"]["body"].startswith(
        "\u00bfViene en otro color? pedido \ufffd1"
    )


def test_the_webhook_id_is_stable_across_retries_and_replays(
    ingress: RunningIngress, module_db: str, target: Target, runner: RunnerProcess
) -> None:
    flaky = Wired(module_db, target, "/fail/1")
    flaky.post(ingress, BODIES["text"])
    first, second = flaky.delivered(2)
    requests = flaky.requests()
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    assert first["id"] == second["id"]

    broken = Wired(module_db, target, "/500")
    broken.post(ingress, BODIES["text"])
    with psycopg.connect(module_db, autocommit=True) as conn:

        def dead() -> list[int]:
            return [r[0] for r in conn.execute(
                "select l.delivery_id from hookline.dead_letters l join hookline.endpoints e "
                "using (endpoint_id) where e.name = %s", (broken.source,),
            )]  # fmt: skip

        wait_until(lambda: len(dead()) == 1, what="the delivery to die")
        conn.execute("select hookline.replay(%s::bigint[])", (dead(),))
    wait_until(lambda: len(broken.requests()) >= 3, what="the replayed attempt")
    ids = {r.headers["webhook-id"] for r in broken.requests()}
    assert len(ids) == 1 and ids != {requests[0].headers["webhook-id"]}
    assert len({r.body for r in broken.requests()}) == 1, "the same body every time"


@pytest.mark.slow
def test_forged_requests_cost_no_database_query(
    server: Server, module_db: str, tmp_path: Path
) -> None:
    """With the database cut off, forged requests are still refused with 401 (not 503): the
    refusal needed no query. A rotated secret still verifies within --cache-seconds."""
    proxy = Proxy(server.port)
    dsn = module_db.replace(f":{server.port}/", f":{proxy.port}/")
    source = unique_name("wa")
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', %s, 'whatsapp', %s, null, 65536, true)",
                     (source, SECRET))  # fmt: skip
    body = BODIES["text"]
    try:
        # A cache long enough that nothing expires between the cut and the last forged request.
        with running_ingress(dsn, tmp_path / "ingress.log", "--cache-seconds", "10",
                             "--db-timeout", "1") as ing:  # fmt: skip

            def post(secret: str, name: str = source, payload: bytes = body) -> int:
                return httpx.post(
                    f"{ing.url}/webhooks/{name}", content=payload, timeout=30,
                    headers={"content-type": "application/json",
                             "x-hub-signature-256": sign(secret, payload)},
                ).status_code  # fmt: skip

            assert post(SECRET) == 200
            assert post("forged") == 401  # re-reads the secrets once
            assert post(SECRET, "no-such-source") == 404
            proxy.down()
            assert [post("forged") for _ in range(20)] == [401] * 20
            assert [post(SECRET, "no-such-source") for _ in range(5)] == [404] * 5
            assert post(SECRET, payload=BODIES["image"]) == 503, "the database is really gone"
            proxy.up()
            with psycopg.connect(module_db, autocommit=True) as conn:
                conn.execute("select hookline.rotate_secret(%s, 'new-secret')", (source,))
            # The last re-read was just now: the new secret verifies once the cache expires.
            assert post("new-secret", payload=BODIES["location"]) == 401
            wait_until(lambda: post("new-secret", payload=BODIES["location"]) == 200, timeout=30,
                       what="the new secret to verify")  # fmt: skip
    finally:
        proxy.close()


def test_duplicates_are_per_source(
    ingress: RunningIngress, module_db: str, target: Target, runner: RunnerProcess
) -> None:
    """Another app's copy, sent to another source, is that source's event (docs/ingress.md)."""
    one, other = Wired(module_db, target), Wired(module_db, target)
    body = BODIES["statuses_many_users"]
    assert one.post(ingress, body)["new_events"] == 3
    assert other.post(ingress, body)["new_events"] == 3
    assert one.post(ingress, body)["new_events"] == 0
    assert {d["source"] for d in other.delivered(3)} == {other.source}
