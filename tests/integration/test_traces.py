"""Traces: a real ingress and runner export OTLP/HTTP to a receiver on 127.0.0.1 that decodes
the protobuf with opentelemetry-proto; a handler gets the same traceparent on every attempt."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.ingress_helpers import FIXTURES, running_ingress, sign
from tests.integration.conftest import RunnerProcess, wait_until
from tests.target import Target

SECRET = "app-secret"
BODY = (FIXTURES / "text.json").read_bytes()
SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"


class OtlpReceiver:
    """POST /v1/traces (application/x-protobuf): every span, flattened."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                request = ExportTraceServiceRequest()
                request.ParseFromString(raw)
                for rs in request.resource_spans:
                    resource = {a.key: a.value.string_value for a in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        for span in ss.spans:
                            receiver.spans.append({
                                "service": resource.get("service.name"),
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "attributes": {a.key: getattr(a.value, a.value.WhichOneof("value"))
                                               for a in span.attributes},
                            })  # fmt: skip
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"] == name]


@pytest.fixture
def otlp(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    # Only the standard variables: the processes started below inherit them.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_webhook_is_traced_from_the_sender_to_every_attempt(
    db: str, target: Target, otlp: OtlpReceiver, tmp_path: Any
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', %s, null, 65536, true)",
                     (SECRET,))  # fmt: skip
        # The handler fails once, then succeeds: two attempts of one delivery.
        ((endpoint_id, _secret),) = conn.execute(
            "select * from hookline.add_endpoint('acme', 'crm', %s, retry_schedule => "
            "array[interval '1 second'])", (target.url("/fail/1"),)).fetchall()  # fmt: skip
        conn.execute("select hookline.add_subscription('crm', '*')")
    runner = RunnerProcess(db, "traced", "--log-format", "json")
    try:
        with running_ingress(
            db, tmp_path / "ingress.log", "--log-format", "json", "--log-level", "debug"
        ) as ingress:
            answer = httpx.post(
                f"{ingress.url}/webhooks/wa", content=BODY,
                headers={"content-type": "application/json",
                         "x-hub-signature-256": sign(SECRET, BODY),
                         "traceparent": f"00-{SENDER_TRACE}-{SENDER_SPAN}-01"},
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
            wait_until(lambda: len(target.requests) == 2, what="two attempts")
            wait_until(lambda: len(otlp.named("hookline.delivery.attempt")) == 2, what="spans")
            wait_until(lambda: otlp.named("POST /webhooks/{source}"), what="the ingress span")
        runner_lines = [json.loads(line) for line in runner.output().splitlines()]
    finally:
        runner.stop()
    assert {"time", "level", "logger", "message"} <= runner_lines[0].keys()
    assert any(line["message"].startswith("runner traced started") for line in runner_lines)

    (server,) = otlp.named("POST /webhooks/{source}")
    assert server["service"] == "hookline-ingress"
    assert (server["trace_id"], server["parent"]) == (SENDER_TRACE, SENDER_SPAN)
    assert server["attributes"]["hookline.source"] == "wa"
    assert server["attributes"]["hookline.new_events"] == 1
    assert server["attributes"]["http.response.status_code"] == 200

    # Both attempts carry the ingress span's traceparent: the handler continues one trace.
    stored = f"00-{SENDER_TRACE}-{server['span_id']}-01"
    assert [r.headers.get("traceparent") for r in target.requests] == [stored, stored]
    with psycopg.connect(db) as conn:
        assert conn.execute("select traceparent from hookline.events").fetchall() == [(stored,)]

    attempts = sorted(otlp.named("hookline.delivery.attempt"), key=lambda s: s["attributes"]["hookline.attempt"])  # fmt: skip
    assert [s["attributes"]["http.response.status_code"] for s in attempts] == [500, 200]
    assert [s["attributes"]["hookline.attempt"] for s in attempts] == [1, 2]
    for span in attempts:
        assert (span["service"], span["trace_id"], span["parent"]) == (
            "hookline-runner", SENDER_TRACE, server["span_id"])  # fmt: skip
        assert span["attributes"]["hookline.endpoint_id"] == endpoint_id
    assert otlp.named("hookline.claim") and otlp.named("hookline.complete")
    # JSON log lines: the stored request's line names its source and carries the trace ids.
    lines = [json.loads(line) for line in (tmp_path / "ingress.log").read_text().splitlines()]
    (stored_line,) = [line for line in lines if line["message"].startswith("stored ")]
    assert stored_line["source"] == "wa" and stored_line["level"] == "debug"
    assert (stored_line["trace_id"], stored_line["span_id"]) == (SENDER_TRACE, server["span_id"])
    # Nothing personal in any attribute or log line.
    text = repr(otlp.spans) + (tmp_path / "ingress.log").read_text() + repr(runner_lines)
    for personal in ("16505551234", "Barbara", "wamid"):
        assert personal not in text


def test_without_otel_variables_a_new_root_is_stored_and_sent(
    db: str, target: Target, tmp_path: Any
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', %s, null, 65536, true)",
                     (SECRET,))  # fmt: skip
        conn.execute("select hookline.add_endpoint('acme', 'crm', %s)", (target.url("/ok"),))
        conn.execute("select hookline.add_subscription('crm', '*')")
    runner = RunnerProcess(db, "untraced")
    try:
        with running_ingress(db, tmp_path / "ingress.log") as ingress:
            answer = httpx.post(
                f"{ingress.url}/webhooks/wa", content=BODY,
                headers={"content-type": "application/json",
                         "x-hub-signature-256": sign(SECRET, BODY), "traceparent": "garbage"},
            )  # fmt: skip
            assert answer.status_code == 200
            wait_until(lambda: len(target.requests) == 1, what="the delivery")
    finally:
        runner.stop()
    with psycopg.connect(db) as conn:
        ((stored,),) = conn.execute("select traceparent from hookline.events").fetchall()
    assert stored and stored.startswith("00-") and stored.endswith("-01")
    assert target.requests[0].headers.get("traceparent") == stored
