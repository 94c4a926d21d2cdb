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
import psycopg
import pytest
from psycopg import sql

from hookline import queries
from hookline.masking import Masker, MaskingFilter
from tests.ingress_helpers import running_ingress, sign
from tests.integration.conftest import RunnerProcess, wait_until
from tests.security.conftest import as_role, whatsapp_message
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


def test_before_the_rules_are_read_every_long_number_is_hidden() -> None:
    assert Masker()("from 4915112345678 at 1700000000, 12345") == "from [digits] at [digits], 12345"


def test_the_log_filter_masks_formatted_messages(caplog: pytest.LogCaptureFixture) -> None:
    masker = Masker()
    masker.use([("phone", r"[0-9]{8,}", "[n]")])
    logger = logging.getLogger("hookline.test_masking")
    logger.addFilter(MaskingFilter(masker))
    with caplog.at_level(logging.INFO, logger="hookline.test_masking"):
        logger.info("refused %s: %s", "4915112345678", {"from": "447700900123"})
    assert caplog.messages == ["refused [n]: {'from': '[n]'}"]


def test_payloads_are_masked_by_key_and_by_pattern(conn: psycopg.Connection) -> None:
    payload = json.loads(
        whatsapp_message("4915112345678", "Greta Beispiel", "ruf mich an", "wamid.X")
    )
    (masked,) = conn.execute("select hookline.mask_payload(%s)", (json.dumps(payload),)).fetchone()
    assert masked["contacts"] == [{"profile": "[name]", "wa_id": "+49******78"}]
    assert masked["messages"][0] == {"from": "+49******78", "id": "wamid.X", "timestamp": "1764000000",
                                     "type": "text", "text": "[text]"}  # fmt: skip


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
        with running_ingress(as_role(db, "ingress"), tmp_path / "ingress.log") as ingress:
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
