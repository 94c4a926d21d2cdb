"""Prometheus metrics of the ingress and the runner, each on a metrics address of its own.

Never on the webhook port: the metrics name sources, endpoints and tenants, which the
public side has no business reading. Labels are bounded: tenant, source, endpoint, job,
event-type family, outcome, error class and status class, never ids or phone numbers.

The runner's gauges (queue depth, oldest due wait, dead letters, circuits, jobs) come from
`hookline.metric_gauges()`, which reads the per-minute statistics snapshot and other small
tables, never the hot ones; a scrape within CACHE_S of the previous one reuses its answer.
docs/observability.md lists every metric.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hookline import queries
from hookline.db import connect
from hookline.errors import DatabaseUnavailable, HooklineError

CACHE_S = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# The gauges of hookline.metric_gauges(): name -> (help, label names).
DB_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "hookline_queue_depth": (
        "Live deliveries by state, from the newest per-minute snapshot.",
        ("tenant", "endpoint", "state"),
    ),
    "hookline_oldest_due_seconds": (
        "How long the oldest due delivery has waited past its time (snapshot).",
        ("tenant", "endpoint"),
    ),
    "hookline_dlq_size": (
        "Dead deliveries in the dead-letter queue (snapshot).",
        ("tenant", "endpoint"),
    ),
    "hookline_stats_snapshot_age_seconds": ("Age of the newest statistics snapshot.", ()),
    "hookline_circuits": ("Circuit breakers by kind and state.", ("kind", "state")),
    "hookline_endpoint_circuit_open": (
        "1 while the endpoint's circuit is open or half-open.",
        ("tenant", "endpoint"),
    ),
    "hookline_job_last_success_timestamp_seconds": (
        "Unix time of the job's last successful run.",
        ("job_name",),
    ),
    "hookline_job_last_run_failed": ("1 when the job's last run failed.", ("job_name",)),
    "hookline_job_stale": (
        "1 while the job has had no scheduled success within twice its schedule's longest gap.",
        ("job_name",),
    ),
    "hookline_dlq_replayed_deliveries": (
        "Deliveries replayed out of the dead-letter queue, ever; only grows.",
        ("tenant",),
    ),
    "hookline_alerts_firing": ("Alerts of hookline.alert_rules firing, by rule.", ("rule",)),
    "hookline_alert_notifications_undelivered": (
        "Alert notifications that went dead in the dead-letter queue, by receiver.",
        ("receiver",),
    ),
}


def status_class(code: int | None) -> str:
    """'2xx'..'5xx' for an HTTP status, 'none' when no answer came."""
    return f"{code // 100}xx" if code else "none"


def serve_metrics(
    metrics: IngressMetrics | RunnerMetrics,
    host: str,
    port: int | None,
    say: Callable[[str], None],
    dsn: str | None = None,
) -> None:
    """Serve the metrics on host:port (0: any free port) in a daemon thread and say where;
    with a DSN, the database gauges too. Nothing when port is None."""
    if port is None:
        return
    if dsn is not None:
        metrics.registry.register(DatabaseGauges(dsn))
    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise HooklineError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    say(f"metrics on http://{shown}:{server.server_address[1]}/metrics")


# --- the ingress ---------------------------------------------------------------------------


class IngressMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hookline_ingress_requests",
            "Webhook requests by source, outcome (stored or the refusal reason) and status class.",
            ["source", "outcome", "status_class"],
            registry=self.registry,
        )
        self.events = Counter(
            "hookline_ingress_events",
            "New events stored by the ingress, by source.",
            ["source"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hookline_ingress_request_duration_seconds",
            "Time from a webhook request's arrival to its answer, by route and status class.",
            ["route", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.waiting = Gauge(
            "hookline_ingress_waiting_requests",
            "Verified requests waiting for the next group commit (while one is in flight).",
            registry=self.registry,
        )
        self.group_size = Histogram(
            "hookline_ingress_group_requests",
            "Requests stored by one transaction of the ingress (its group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )

        # Label children of the hot path, looked up once (labels() takes a lock each time).
        self._stored: dict[str, tuple[Any, Any]] = {}
        self._webhook_latency: dict[int, Any] = {}

    def stored(self, counts: dict[str, tuple[int, int]]) -> None:
        """Requests stored by one group commit: source -> (requests, new events)."""
        for source, (requests, new_events) in counts.items():
            children = self._stored.get(source)
            if children is None:
                children = (
                    self.requests.labels(source, "stored", "2xx"),
                    self.events.labels(source),
                )
                self._stored[source] = children
            children[0].inc(requests)
            children[1].inc(new_events)

    def refused(self, source: str, reason: str, status: int) -> None:
        self.requests.labels(source, reason, status_class(status)).inc()

    def webhook_answered(self, status: int, seconds: float) -> None:
        """A POST /webhooks/{source} answered (timed by the ingress itself: its hot path)."""
        cls = status // 100
        child = self._webhook_latency.get(cls)
        if child is None:
            child = self.latency.labels("webhook", status_class(status))
            self._webhook_latency[cls] = child
        child.observe(seconds)

    def middleware(self, app: Any) -> Any:
        """ASGI middleware timing the handshake (GET /webhooks/{source})."""
        latency = self.latency

        async def timed(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if (
                scope["type"] != "http"
                or scope["method"] != "GET"
                or not scope["path"].startswith("/webhooks/")
            ):
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = [0]

            async def sending(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                cls = status_class(status[0])
                latency.labels("handshake", cls).observe(time.perf_counter() - started)

        return timed


# --- the runner ----------------------------------------------------------------------------


class RunnerMetrics:
    """One per runner process, shared by the delivery and the outbox loops (`kind`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.attempts = Counter(
            "hookline_attempts",
            "Delivery attempts (kind=deliveries) and outbox sends (kind=messages), by the outcome "
            "SQL recorded, the error class (none when an HTTP answer came) and status class.",
            ["kind", "outcome", "error_class", "status_class"],
            registry=r,
        )
        self.dead = Counter(
            "hookline_dead_letters",
            "Deliveries and messages that went to the dead-letter state.",
            ["kind"],
            registry=r,
        )
        self.duration = Histogram(
            "hookline_attempt_duration_seconds",
            "Time of one HTTP attempt, by kind and status class.",
            ["kind", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.delivered_after = Histogram(
            "hookline_received_to_delivered_seconds",
            "From the event's arrival to the 2xx answer of its endpoint, by kind.",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400),
            registry=r,
        )
        self.claimed = Counter(
            "hookline_claimed", "Rows leased by claim batches.", ["kind"], registry=r
        )
        self.batches = Counter(
            "hookline_batches", "Claim and complete round trips.", ["kind", "call"], registry=r
        )
        self.dropped = Counter(
            "hookline_results_dropped",
            "Results of attempts that were never recorded: refused (the database refused the "
            "result as invalid) or unreachable (a stop gave up on the database). Each is logged; "
            "its delivery or message is sent again after its lease.",
            ["kind", "reason"],
            registry=r,
        )
        self.given_back = Counter(
            "hookline_leases_given_back",
            "Leases the runner gave back without sending (release): unsent (a claimed row not "
            "started: its lease would end during the request, a message past the send margin "
            "of its claim, or a stop came first) or unfinished (abandoned at the end of a "
            "stop's grace period). Each is due again with no attempt counted.",
            ["kind", "which"],
            registry=r,
        )
        self.started = time.monotonic()
        self.listener_seen: dict[str, float] = {}
        listener_age = Gauge(
            "hookline_listener_silence_seconds",
            "Seconds since the LISTEN connection last proved alive (a notification or its "
            "keep-alive round trip); grows while it is down.",
            ["kind"],
            registry=r,
        )
        for kind in ("deliveries", "messages"):  # the two loops' WHAT: series from the start
            self.attempts.labels(kind, "succeeded", "none", "2xx")
            self.claimed.labels(kind)
        self.delivered_after_of = {k: self.delivered_after.labels(k) for k in ("deliveries", "messages")}  # fmt: skip
        for kind in ("deliveries", "messages"):  # until the first sign
            listener_age.labels(kind).set_function(  # of life, the time since the start
                lambda kind=kind: time.monotonic() - self.listener_seen.get(kind, self.started)
            )

    def claimed_batch(self, kind: str, rows: int) -> None:
        self.batches.labels(kind, "claim").inc()
        self.claimed.labels(kind).inc(rows)

    def completed(self, kind: str, id_key: str, batch: Sequence[dict[str, Any]], rows: Sequence[tuple[Any, ...]]) -> None:  # fmt: skip
        """Count a recorded batch: `rows` are (id, outcome) as complete returned them. Counted
        once per label set of the batch (a labels() look-up per result costs more than the
        increment)."""
        self.batches.labels(kind, "complete").inc()
        outcomes = dict(rows)
        counts: dict[tuple[str, str, str], int] = {}
        durations: dict[str, list[float]] = {}
        for result in batch:
            cls = status_class(result.get("status_code"))
            key = (outcomes.get(result[id_key], "unrecorded"), result.get("error_class") or "none", cls)  # fmt: skip
            counts[key] = counts.get(key, 0) + 1
            if "duration_ms" in result:
                durations.setdefault(cls, []).append(result["duration_ms"] / 1000)
        for (outcome, error_class, cls), n in counts.items():
            self.attempts.labels(kind, outcome, error_class, cls).inc(n)
            if outcome == "dead":
                self.dead.labels(kind).inc(n)
        for cls, seconds in durations.items():
            histogram = self.duration.labels(kind, cls)
            for value in seconds:
                histogram.observe(value)

    def leases_given_back(self, kind: str, which: str, count: int) -> None:
        self.given_back.labels(kind, which).inc(count)

    def results_dropped(self, kind: str, reason: str, count: int) -> None:
        self.dropped.labels(kind, reason).inc(count)

    def answered(self, kind: str, result: dict[str, Any], received_at: datetime) -> None:
        """An attempt came back: a 2xx ends the event's wait for this endpoint."""
        if 200 <= (result.get("status_code") or 0) < 300:
            self.delivered_after_of[kind].observe(time.time() - received_at.timestamp())

    def listener_alive(self, kind: str) -> None:
        self.listener_seen[kind] = time.monotonic()


class DatabaseGauges(Collector):
    """The gauges of hookline.metric_gauges(), on a connection of its own (the scrape thread's)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.lock = threading.Lock()
        self.conn: psycopg.Connection[Any] | None = None
        self.rows: list[tuple[str, dict[str, str], float]] = []
        self.read_at = float("-inf")
        self.up = 0.0

    def _read(self) -> None:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = connect(self.dsn, autocommit=True, timeout=5)
            # The timeout for this read only (SET LOCAL): behind a transaction pooler a session
            # setting would stay on a server connection that other clients get next.
            with self.conn.transaction():
                self.conn.execute(queries.SET_LOCAL_STATEMENT_TIMEOUT, {"ms": "5000"})
                self.rows = self.conn.execute(queries.METRIC_GAUGES).fetchall()
            self.up = 1.0
        except (psycopg.Error, DatabaseUnavailable):  # (a failed connect is ConnectFailed)
            self.rows, self.up = [], 0.0
            if self.conn is not None:
                self.conn.close()
            self.conn = None
        self.read_at = time.monotonic()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.lock:
            if time.monotonic() - self.read_at >= CACHE_S:
                self._read()
            rows, up = self.rows, self.up
        yield GaugeMetricFamily(
            "hookline_metrics_database_up",
            "1 when the last read of hookline.metric_gauges() succeeded.",
            value=up,
        )
        families = {
            name: GaugeMetricFamily(name, help_text, labels=list(labels))
            for name, (help_text, labels) in DB_GAUGES.items()
        }
        for metric, labels, value in rows:
            family = families.get(metric)
            if family is not None:  # a newer schema's metric this version does not know
                family.add_metric([labels.get(n, "") for n in DB_GAUGES[metric][1]], value)
        yield from families.values()


RUNNER = RunnerMetrics()
