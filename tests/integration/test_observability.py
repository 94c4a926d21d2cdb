"""Metrics of a real ingress and runner: scraped on their own metrics addresses, parsed with
prometheus_client's parser, and scraped by a real Prometheus."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.alert_receiver import Receiver
from tests.helpers import ROOT
from tests.ingress_helpers import (
    FIXTURES,
    RunningIngress,
    announced_metrics_url,
    running_ingress,
    sign,
)
from tests.integration.conftest import RunnerProcess, wait_until
from tests.prometheus import Prometheus, running_alertmanager, running_prometheus
from tests.target import Target

SECRET = "app-secret"
BODY = (FIXTURES / "text.json").read_bytes()


@dataclass
class Stack:
    dsn: str
    ingress: RunningIngress
    runner_metrics: str
    target: Target


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, parsed by prometheus_client: (name, labels) -> value."""
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape: dict, name: str, **labels: str) -> float | None:
    return scrape.get((name, frozenset(labels.items())))


@pytest.fixture(scope="module")
def stack(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    target = Target().start()
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', %s, null, 65536, true)",
                     (SECRET,))  # fmt: skip
        conn.execute("select hookline.add_endpoint('acme', 'crm', %s)", (target.url("/ok"),))
        conn.execute("select hookline.add_endpoint('acme', 'gone', %s)", (target.url("/410"),))
        conn.execute("select hookline.add_subscription('crm', '*')")
        conn.execute("select hookline.add_subscription('gone', '*')")
        conn.execute("insert into hookline.tenants values ('ops', 'Ops')")
        conn.execute("select hookline.add_alert_receiver('ops', 'pd', 'pagerduty', %s, 'KEY')",
                     (target.url("/ok"),))  # fmt: skip
    logs = tmp_path_factory.mktemp("observability")
    runner = RunnerProcess(module_db, "obs")
    try:
        with running_ingress(module_db, logs / "ingress.log") as ingress:
            yield Stack(module_db, ingress, announced_metrics_url(runner.log), target)
    finally:
        runner.stop()
        target.stop()


@pytest.fixture(scope="module")
def delivered(stack: Stack) -> Stack:
    """One webhook in, delivered to crm and dead at gone; a snapshot and a job run taken."""
    answer = httpx.post(
        f"{stack.ingress.url}/webhooks/wa", content=BODY,
        headers={"content-type": "application/json", "x-hub-signature-256": sign(SECRET, BODY)},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert httpx.post(f"{stack.ingress.url}/webhooks/nope", content=b"{}").status_code == 404
    with psycopg.connect(stack.dsn, autocommit=True) as conn:

        def settled() -> bool:
            return (
                conn.execute("select count(*) from hookline.dead_letters").fetchone() == (1,)
                and len(stack.target.requests) == 2
            )

        wait_until(settled, what="one delivery done and one dead")

        # A slot of its own each time (as `hookline cron run` does): the default, this
        # minute's slot, is "skipped" when the runner's scheduler has fired it since the minute
        # began. And a minute's snapshot is written once: when the scheduler took this
        # minute's before the dead letter, the gauges show it from the next minute's only.
        def snapped() -> bool:
            run = conn.execute(
                "select hookline.run_job('snapshot_stats', clock_timestamp(), 'test')"
            )
            assert run.fetchone() == ("succeeded",)
            newest = conn.execute(
                "select sum(s.dead_count) from hookline.stats_snapshots s"
                " where s.taken_at = (select max(taken_at) from hookline.stats_snapshots)"
            ).fetchone()
            if newest == (1,):
                return True
            time.sleep(1)
            return False

        wait_until(snapped, timeout=90, what="a snapshot that counts the dead letter")
    return stack


def test_ingress_metrics_on_their_own_address(delivered: Stack) -> None:
    ingress = delivered.ingress
    assert httpx.get(f"{ingress.url}/metrics").status_code == 404, "never on the webhook port"
    assert ingress.metrics_url.startswith("http://127.0.0.1:")
    scrape = samples(ingress.metrics_url)
    total = "hookline_ingress_requests_total"
    assert value(scrape, total, source="wa", outcome="stored", status_class="2xx") == 1
    assert (
        value(scrape, total, source="(unknown)", outcome="unknown_source", status_class="4xx") == 1
    )
    assert value(scrape, "hookline_ingress_events_total", source="wa") == 1
    histogram = "hookline_ingress_request_duration_seconds_count"
    assert value(scrape, histogram, route="webhook", status_class="2xx") == 1
    assert value(scrape, histogram, route="webhook", status_class="4xx") == 1
    assert_bounded(scrape)


def test_runner_metrics_count_outcomes_and_read_gauges_from_sql(delivered: Stack) -> None:
    scrape = samples(delivered.runner_metrics)
    attempts = "hookline_attempts_total"
    ok = {"kind": "deliveries", "error_class": "none"}
    assert value(scrape, attempts, outcome="succeeded", status_class="2xx", **ok) == 1
    assert value(scrape, attempts, outcome="dead", status_class="4xx", **ok) == 1
    assert value(scrape, "hookline_dead_letters_total", kind="deliveries") == 1
    assert value(scrape, "hookline_attempt_duration_seconds_count", kind="deliveries", status_class="2xx") == 1  # fmt: skip
    assert value(scrape, "hookline_claimed_total", kind="deliveries") == 2
    assert value(scrape, "hookline_received_to_delivered_seconds_count", kind="deliveries") == 1
    assert value(scrape, "hookline_metrics_database_up") == 1
    assert value(scrape, "hookline_dlq_size", tenant="acme", endpoint="gone") == 1
    assert value(scrape, "hookline_dlq_size", tenant="acme", endpoint="crm") == 0
    assert value(scrape, "hookline_queue_depth", tenant="acme", endpoint="crm", state="pending") == 0  # fmt: skip
    assert value(scrape, "hookline_job_last_success_timestamp_seconds", job_name="snapshot_stats")
    assert value(scrape, "hookline_job_last_run_failed", job_name="snapshot_stats") == 0
    for kind in ("deliveries", "messages"):
        silence = value(scrape, "hookline_listener_silence_seconds", kind=kind)
        assert silence is not None and silence >= 0
    assert_bounded(scrape)


def assert_bounded(scrape: dict) -> None:
    """No label value is an id, a phone number or a wamid: six digits in a row never appear."""
    for name, labels in scrape:
        for label, text in labels:
            assert not re.search(r"[0-9]{6,}|wamid", text), (name, label, text)


@pytest.fixture(scope="module")
def prom(delivered: Stack) -> Iterator[Prometheus]:
    """A real Prometheus scraping the ingress and the runner of the stack every second."""
    targets = {
        "ingress": delivered.ingress.metrics_url.split("/")[2],
        "runner": delivered.runner_metrics.split("/")[2],
    }
    with running_prometheus(targets) as prometheus:
        yield prometheus


def test_a_real_prometheus_scrapes_both(prom: Prometheus) -> None:
    up = prom.wait_for('sum(up{job=~"ingress|runner"}) == 2')
    assert up[0]["value"][1] == "2"
    stored = prom.wait_for('hookline_ingress_requests_total{outcome="stored"}')
    assert stored[0]["metric"]["source"] == "wa"
    dlq = prom.wait_for('hookline_dlq_size{endpoint="gone"}')
    assert dlq[0]["value"][1] == "1"


def test_every_dashboard_expression_returns_series(prom: Prometheus) -> None:
    board = json.loads((ROOT / "docs" / "grafana" / "hookline.json").read_text())
    exprs = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    assert len(exprs) >= 20
    for expr in exprs:  # rate() and delta() need two scrapes: wait for them
        assert prom.wait_for(expr), expr


def test_alertmanager_routes_a_rule_to_a_pagerduty_receiver(
    delivered: Stack, tmp_path: Path
) -> None:
    """A Prometheus rule on hookline's gauge, routed by a real Alertmanager to a PagerDuty
    receiver whose URL is the local server that validates the Events API v2 shape."""
    receiver = Receiver()
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: test\n    rules:\n      - alert: HooklineDLQNotEmpty\n"
        "        expr: max by (tenant, endpoint) (hookline_dlq_size) > 0\n"
        "        labels: {severity: critical}\n"
        "        annotations: {summary: 'dead letters at {{ $labels.endpoint }}',"
        " runbook_url: docs/observability.md#hooklinedeadlettersgrowing}\n"
    )
    config = (
        "route:\n  receiver: pagerduty\n  group_by: [alertname, endpoint]\n"
        "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: pagerduty\n    pagerduty_configs:\n"
        f"      - routing_key: R0UTING\n        url: {receiver.url('/pagerduty')}\n"
        "        severity: '{{ .CommonLabels.severity }}'\n"
        "        links: [{href: '{{ .CommonAnnotations.runbook_url }}', text: Runbook}]\n"
    )
    targets = {"runner": delivered.runner_metrics.split("/")[2]}
    try:
        with (
            running_alertmanager(config) as alertmanager,
            running_prometheus(targets, rules, alertmanager=alertmanager),
        ):
            wait_until(lambda: receiver.valid or receiver.invalid, what="a PagerDuty event")
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert receiver.invalid == []
    path, event = receiver.valid[0]
    assert path == "/pagerduty" and event["event_action"] == "trigger"
    assert event["routing_key"] == "R0UTING" and event["payload"]["severity"] == "critical"
    assert "gone" in event["payload"]["summary"] or "gone" in json.dumps(event["payload"])
