"""A local PagerDuty/Opsgenie stand-in on 127.0.0.1 that validates the payload shapes: the
PagerDuty Events API v2 and the Alertmanager webhook payload (Opsgenie's Prometheus integration)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PD_SEVERITIES = {"critical", "error", "warning", "info"}


def pagerduty_problems(doc: Any) -> list[str]:
    """What makes doc an invalid PagerDuty Events API v2 event (trigger or resolve)."""
    if not isinstance(doc, dict):
        return ["not an object"]
    problems = []
    if not isinstance(doc.get("routing_key"), str) or not doc["routing_key"]:
        problems.append("routing_key")
    if not isinstance(doc.get("dedup_key"), str) or not 0 < len(doc["dedup_key"]) <= 255:
        problems.append("dedup_key")
    action = doc.get("event_action")
    if action == "trigger":
        payload = doc.get("payload")
        if not isinstance(payload, dict):
            return [*problems, "payload"]
        if not isinstance(payload.get("summary"), str) or not 0 < len(payload["summary"]) <= 1024:
            problems.append("payload.summary")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            problems.append("payload.source")
        if payload.get("severity") not in PD_SEVERITIES:
            problems.append("payload.severity")
        for link in doc.get("links", []):
            if not isinstance(link.get("href"), str):
                problems.append("links.href")
    elif action != "resolve":
        problems.append("event_action")
    return problems


def opsgenie_problems(doc: Any) -> list[str]:
    """What makes doc an invalid Alertmanager webhook payload (Opsgenie's Prometheus integration)."""
    if not isinstance(doc, dict):
        return ["not an object"]
    problems = []
    if doc.get("version") != "4":
        problems.append("version")
    if doc.get("status") not in ("firing", "resolved"):
        problems.append("status")
    alerts = doc.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return [*problems, "alerts"]
    for alert in alerts:
        if alert.get("status") != doc.get("status"):
            problems.append("alerts.status")
        labels = alert.get("labels")
        if not isinstance(labels, dict) or "alertname" not in labels or "severity" not in labels:
            problems.append("alerts.labels")
        if not all(isinstance(v, str) for v in (labels or {}).values()):
            problems.append("alerts.labels values")
        for key in ("startsAt", "endsAt", "fingerprint"):
            if not isinstance(alert.get(key), str):
                problems.append(f"alerts.{key}")
    return problems


class Receiver:
    """A local PagerDuty/Opsgenie stand-in: 202 for a valid event, 400 (and noted) otherwise."""

    CHECKS: dict[str, Callable[[Any], list[str]]] = {
        "/pagerduty": pagerduty_problems,
        "/opsgenie": opsgenie_problems,
    }

    def __init__(self) -> None:
        self.valid: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[tuple[str, list[str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    doc = json.loads(raw)
                except ValueError:
                    doc = None
                problems = receiver.CHECKS[self.path](doc)
                if problems:
                    receiver.invalid.append((self.path, problems))
                else:
                    receiver.valid.append((self.path, doc))
                self.send_response(400 if problems else 202)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def got(self, path: str, key: str, value: str) -> list[dict[str, Any]]:
        return [doc for p, doc in self.valid if p == path and doc.get(key) == value]
