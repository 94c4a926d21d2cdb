"""PII masking: one SQL definition, used by the operator views and by the log lines of the
ingress and the runner. The end-to-end test runs both as processes under their own roles,
sends webhooks with real-looking phone numbers, names and messages, and scans every log line
and every operator view for them."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

import httpx
import phonenumbers
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from hookline import logs, queries
from hookline.masking import MAYBE_PHONE, Masker
from tests.helpers import hookline
from tests.ingress_helpers import FIXTURES, running_ingress, sign
from tests.integration.conftest import RunnerProcess, wait_until
from tests.security.conftest import Tenants, as_role, whatsapp_message
from tests.target import Target


def notification(value: str) -> bytes:
    """A WhatsApp Business Account notification carrying one change value."""
    change = {
        "field": "messages",
        "value": {
            **json.loads(value),
            "metadata": {
                "display_phone_number": "15550001111",
                "phone_number_id": "106540352242922",
            },
        },
    }
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "102290129340398", "changes": [change]}]}).encode()  # fmt: skip


VIEWS = (
    "dead_letter_queue",
    "live_deliveries",
    "endpoint_overview",
    "attempt_log",
    "event_log",
    "audit_trail",
)
PEOPLE = [("4915112345678", "Greta Beispiel", "Treffen um 10 in der Hauptstrasse 5"),
          ("447700900123", "Oliver Testington", "my new number is +447700900456"),
          ("5511987654321", "Joana Exemplo", "pedido 998877 chegou?")]  # fmt: skip
SECRETS = [p for person in PEOPLE for p in person] + ["447700900456"]

SAMPLES = ["call +14155550123 now", "4915112345678", "id 1700000000 and 12345", "a.b@example.co.uk wrote",
           "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTND", "+55 11 98765 4321", "x447700900123y", ""]  # fmt: skip


def test_log_lines_are_masked_exactly_as_sql_masks_text(conn: psycopg.Connection) -> None:
    masker = Masker()
    masker.use(conn.execute(queries.MASKING_RULES).fetchall())
    for sample in SAMPLES:
        assert (
            masker(sample) == conn.execute("select hookline.mask_text(%s)", (sample,)).fetchone()[0]
        )
    assert masker("from 4915112345678") == "from +49******78"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "+1",
                "+49",
                "+43",
                "+683",
                "650",
                "555",
                "1234",
                "12",
                "7",
                "0",
                " ",
                "-",
                ".",
                "(",
                ")",
                "/",
                " ext ",
                "x",
                "call ",
                "\uff11\uff12",
                "\u0663",
            ]
        ),
        max_size=14,
    ).map("".join)
)
def test_skipping_phonenumbers_on_lines_without_six_digits_never_masks_less(text: str) -> None:
    """Masker skips the phonenumbers matcher when a line has no run of six digits (with short
    separators): on such a line the matcher never finds a number anyway."""
    found = list(phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.VALID))
    if found:
        assert MAYBE_PHONE.search(text), (text, found)
    masker = Masker()
    masker.use([])
    expected = text
    for match in reversed(found):
        expected = expected[: match.start] + "[phone]" + expected[match.end :]
    assert masker(text) == expected


def test_before_the_rules_are_read_every_long_number_is_hidden() -> None:
    assert Masker()("from 4915112345678 at 1700000000, 12345") == "from [digits] at [digits], 12345"


def test_the_log_formatter_masks_formatted_messages() -> None:
    """hookline.logs formats every line of the ingress and the runner through the masker."""
    masker = Masker()
    masker.use([("phone", r"[0-9]{8,}", "[n]")])
    record = logging.LogRecord("hookline.test_masking", logging.INFO, __file__, 1,
                               "refused %s: %s", ("4915112345678", {"from": "447700900123"}), None)  # fmt: skip
    assert (
        logs.MaskingFormatter(masker)
        .format(record)
        .endswith("INFO hookline.test_masking: refused [n]: {'from': '[n]'}")
    )


def test_payloads_are_masked_by_key_and_by_pattern(conn: psycopg.Connection) -> None:
    payload = json.loads(
        whatsapp_message("4915112345678", "Greta Beispiel", "ruf mich an", "wamid.X")
    )
    (masked,) = conn.execute("select hookline.mask_payload(%s)", (json.dumps(payload),)).fetchone()
    assert masked["contacts"] == [{"profile": "[name]", "wa_id": "+49******78"}]
    assert masked["messages"][0] == {"from": "+49******78", "id": "wamid.[masked]", "timestamp": "1764000000",
                                     "type": "text", "text": "[text]"}  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "secret", "path"),
    [
        ("nfm_reply", "Comment Text", ["interactive", "nfm_reply", "response_json"]),
        ("reaction", "\U0001f44d", ["reaction", "emoji"]),
        ("button", "callback_data", ["button", "payload"]),
        ("referral", "CTWA_CLID", ["referral", "ctwa_clid"]),
        ("referral", "AD_TITLE", ["referral", "headline"]),
        ("referral", "AD_OR_POST_FB_URL", ["referral", "source_url"]),
    ],
)
def test_what_a_user_answered_reacted_or_came_from_is_masked(
    conn: psycopg.Connection, fixture: str, secret: str, path: list[str]
) -> None:
    """A Flow's answers (a JSON string: names, addresses, dates of birth), a reaction, a
    quick-reply button's payload and the click-to-WhatsApp ad a user came from are message
    content: [text] in event_log, like the text itself."""
    body = (FIXTURES / f"{fixture}.json").read_text()
    (masked,) = conn.execute("select hookline.mask_payload(%s::jsonb)", (body,)).fetchone()
    message = masked["entry"][0]["changes"][0]["value"]["messages"][0]
    for key in path:
        message = message[key]
    assert message == "[text]"
    assert secret not in json.dumps(masked, ensure_ascii=False)


def test_business_scoped_user_ids_keep_only_their_country(conn: psycopg.Connection) -> None:
    """A BSUID names a person as a number does (event_log leaves it out as a column): in a
    payload it keeps its country and ENT prefix, as a number keeps its country code."""
    for fixture in ("messages_many_users", "group_receipts", "edit", "echo_revoke", "call_connect"):
        body = (FIXTURES / f"{fixture}.json").read_text()
        (masked,) = conn.execute("select hookline.mask_payload(%s::jsonb)", (body,)).fetchone()
        text = json.dumps(masked)
        assert "US.[masked]" in text, fixture
        for secret in ("13491208655302741918", "22817719182837465512", "11815799212886844830"):
            assert secret not in text, fixture


@pytest.mark.parametrize(
    ("fixture", "secret", "path", "masked"),
    [
        (
            "smb_app_state_sync",
            "Zo\u00eb \u00c4rger",
            ["state_sync", 0, "contact", "full_name"],
            "[name]",
        ),
        ("history", "16505551234", ["history", 0, "threads", 0, "id"], "+1******34"),
        ("call_connect", "wacid.HBgLcall1", ["calls", 0, "id"], "wacid.[masked]"),
        ("call_status", "wacid.HBgLcall2", ["statuses", 0, "id"], "wacid.[masked]"),
    ],
)
def test_other_fields_name_nobody_in_a_payload(
    conn: psycopg.Connection, fixture: str, secret: str, path: list, masked: str
) -> None:
    """A contact the WhatsApp Business app synchronises (its full_name), a chat of its history
    (named by the user's number) and a call id (it encodes the caller's number, as a wamid
    does) are masked in event_log like a message's sender."""
    body = (FIXTURES / f"{fixture}.json").read_text()
    (got,) = conn.execute("select hookline.mask_payload(%s::jsonb)", (body,)).fetchone()
    value = got["entry"][0]["changes"][0]["value"]
    for key in path:
        value = value[key]
    assert value == masked
    assert secret not in json.dumps(got, ensure_ascii=False)


def test_a_call_key_is_hashed_like_a_message_key(conn: psycopg.Connection) -> None:
    """event_log.external_id of a call (call:<call id>:<event>) would show the call id, and
    with it the caller's number: it is a keyed hash, the same for every row of the call."""
    (one, again, other, status) = conn.execute(
        "select hookline.mask_external_id('call:wacid.HBgLMTY1MDU1NTEyMzQVAgASGCA:connect'),"
        " hookline.mask_external_id('call:wacid.HBgLMTY1MDU1NTEyMzQVAgASGCA:connect'),"
        " hookline.mask_external_id('call:wacid.HBgLMTY1MDU1NTEyMzQVAgASGCA:terminate'),"
        " hookline.mask_external_id('wamid.HBgLpay1:payment:pending:00ff')"
    ).fetchone()
    assert one == again and one != other and one.startswith("call:wacid.#")
    assert "HBgL" not in one + other + status and status.startswith("wamid.#")


@pytest.mark.slow
def test_no_log_line_and_no_operator_view_shows_personal_data(
    db: str, operator_roles: None, tmp_path: Path, target: Target
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'app-secret', create_tenant => true)"
        )
        conn.execute("select hookline.allow_http('acme', true)")
        conn.execute("select hookline.add_endpoint('acme', 'crm', %s)", (target.url("/ok"),))
        conn.execute(
            "select hookline.add_endpoint('acme', 'crm-down', %s, retry_schedule => '{}')",
            (target.url("/500"),),
        )
        for endpoint in ("crm", "crm-down"):
            conn.execute("select hookline.add_subscription(%s, '*')", (endpoint,))
        conn.execute("select hookline.grant_tenant('acme_ops', 'acme')")
    logs = []
    runner = RunnerProcess(as_role(db, "worker"), "masking-runner")
    try:
        with running_ingress(
            as_role(db, "ingress"), tmp_path / "ingress.log", "--log-level", "debug"
        ) as ingress:
            bodies = [
                notification(whatsapp_message(wa, name, text, f"wamid.{i}"))
                for i, (wa, name, text) in enumerate(PEOPLE)
            ]
            bodies.append(
                b'{"object": "whatsapp_business_account", "from": "4915112345678"}'
            )  # not a notification
            bodies.append(
                b'{"entry": [{"from": 4915112345678, "name": "Greta Beispiel"'
            )  # not JSON
            statuses = [
                httpx.post(f"{ingress.url}/webhooks/acme-wa", content=body, timeout=10,
                           headers={"content-type": "application/json", "x-hub-signature-256": sign("app-secret", body)}).status_code
                for body in bodies
            ]  # fmt: skip
            assert statuses == [200, 200, 200, 400, 400]
            with psycopg.connect(db) as conn:
                wait_until(lambda: conn.execute("select count(*) from hookline.deliveries").fetchone()[0] == 0,
                           what="every delivery delivered or dead")  # fmt: skip
                dead = conn.execute("select count(*) from hookline.dead_letters").fetchone()[0]
            assert dead == 3
        logs.append((tmp_path / "ingress.log").read_text())
        runner.signal(signal.SIGTERM)
        runner.wait(30)
        logs.append(runner.log.read_text())
    finally:
        runner.stop()
    views = []
    with psycopg.connect(as_role(db, "alice")) as conn:
        for view in VIEWS:
            rows = conn.execute(
                sql.SQL("select * from {}").format(sql.Identifier("hookline", view))
            ).fetchall()
            views.append(json.dumps(rows, default=str))
    seen = "\n".join(logs + views)
    assert "refused source=acme-wa status=400" in seen and "runner masking-runner started" in seen
    assert "+49******78" in seen and "[name]" in seen  # the data is there, masked
    leaked = [s for s in SECRETS if s in seen]
    assert leaked == []
    with psycopg.connect(db) as owner:  # the owner still has the payloads
        raw = json.dumps(owner.execute("select payload from hookline.events").fetchall())
    assert all(name in raw for _wa, name, _text in PEOPLE)


# Numbers written as people write them, and text that must stay as it is.
FORMATTED = ["+49 151 12345678", "(650) 555-1234", "650-555-1234", "+1 (650) 555-1234",
             "+44 20 7946 0958", "0151 12345678", "+55 11 98765 4321", "+33 6.12.34.56.78"]  # fmt: skip
KEPT = ["on 2026-03-01 10:00:05", "from 10.0.0.1 port 8443", "order 4711, 3 items", "v1.2.3"]
WAMID = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFDNBMDNEQjRDRjFDRTQ0QkQ5QkQ2AA=="  # +4915112345678


def test_formatted_numbers_and_message_ids_are_masked_in_sql_and_in_logs(
    conn: psycopg.Connection,
) -> None:
    masker = Masker()
    masker.use(conn.execute(queries.MASKING_RULES).fetchall())
    for number in FORMATTED:
        text = f"call me on {number}, thanks"
        (in_sql,) = conn.execute("select hookline.mask_text(%s)", (text,)).fetchone()
        digits = "".join(c for c in number if c.isdigit())
        for masked in (in_sql, masker(text)):
            assert masked.startswith("call me on ") and masked.endswith(", thanks"), masked
            assert digits[-4:] not in masked and digits[2:6] not in masked, masked
    for text in KEPT:
        assert conn.execute("select hookline.mask_text(%s)", (text,)).fetchone()[0] == text
        assert masker(text) == text
    sentence = f"handler said: duplicate {WAMID}"
    assert conn.execute("select hookline.mask_text(%s)", (sentence,)).fetchone()[0] == (
        "handler said: duplicate wamid.[masked]"
    )
    assert masker(sentence) == "handler said: duplicate wamid.[masked]"


def test_phonenumbers_only_ever_hides_more_than_the_sql_rules(conn: psycopg.Connection) -> None:
    """Python's log masking runs the SQL rules first, then phonenumbers: a number the patterns
    miss (here, slashes as separators) is still hidden in a log line."""
    masker = Masker()
    masker.use(conn.execute(queries.MASKING_RULES).fetchall())
    text = "call +49/151/1234/5678"
    (in_sql,) = conn.execute("select hookline.mask_text(%s)", (text,)).fetchone()
    assert in_sql == text  # a known gap of the patterns
    assert masker(text) == "call [phone]"


def test_audit_before_after_and_message_ids_are_masked_for_operators(
    db: str, two_tenants: Tenants
) -> None:
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute(
            "select hookline.pause_endpoint('acme-crm', 'Greta asked: call +49 151 12345678 or greta@example.com')"
        )
        for key in ("a", "b"):
            owner.execute(
                "select hookline.ingest('acme-wa', %s, 'whatsapp.message.text', %s::jsonb, null, "
                "'2026-03-01 10:00Z')",
                (WAMID, whatsapp_message("4915112345678", "Greta", key, WAMID)),
            )  # the same wamid twice: one event
        raw = owner.execute(
            "select external_id from hookline.events where external_id like 'wamid.%'"
        ).fetchall()
    assert raw == [(WAMID,)]  # the owner keeps the raw id
    with psycopg.connect(as_role(db, "alice")) as conn:
        (after,) = conn.execute(
            "select after from hookline.audit_trail where action = 'endpoints.update' order by audit_id desc limit 1"
        ).fetchone()
        events = conn.execute(
            "select external_id, payload from hookline.event_log where external_id like 'wamid.%'"
        ).fetchall()
        again = conn.execute(
            "select external_id from hookline.event_log where external_id like 'wamid.%'"
        ).fetchall()
    assert after["paused_reason"] == "Greta asked: call [phone] or [email]"
    listed = hookline("audit", "list", "--json", "--dsn", as_role(db, "alice"))
    assert listed.returncode == 0, listed.stderr
    assert "[phone] or [email]" in listed.stdout and "12345678" not in listed.stdout
    ((external_id, payload),) = events
    assert external_id.startswith("wamid.#") and len(external_id) == len("wamid.#") + 20
    assert again == [(external_id,)]  # stable: rows still correlate
    assert payload["messages"][0]["id"] == "wamid.[masked]"
    assert WAMID[6:20] not in json.dumps(events)
    with (
        psycopg.connect(as_role(db, "alice")) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("select hookline.mask_external_id(%s)", (WAMID,))
