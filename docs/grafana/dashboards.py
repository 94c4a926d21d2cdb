"""hookline's Grafana dashboard as code (grafana-foundation-sdk). Regenerate the committed JSON:

    python docs/grafana/dashboards.py > docs/grafana/hookline.json

tests/observability/test_dashboards.py fails when the two differ, and the integration test
evaluates every expression against a real Prometheus scraping a real ingress and runner.
"""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${datasource}")

# (row, [(panel title, unit, [(PromQL, legend)])]); gauges read from SQL are served by every
# runner, hence max by (...).
ROWS: list[tuple[str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    ("Webhooks in", [
        ("Webhooks stored per second", "reqps", [
            ('sum by (source) (rate(hookline_ingress_requests_total{outcome="stored"}[5m]))', "{{source}}")]),
        ("Refusals per second by reason", "reqps", [
            ('sum by (source, outcome) (rate(hookline_ingress_requests_total{outcome!="stored"}[5m]))', "{{source}} {{outcome}}")]),
        ("Ingress latency", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(hookline_ingress_request_duration_seconds_bucket{route="webhook"}[5m])))', "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(hookline_ingress_request_duration_seconds_bucket{route="webhook"}[5m])))', "p99")]),
        ("Events ingested per second", "ops", [
            ("sum by (source) (rate(hookline_ingress_events_total[5m]))", "{{source}}")]),
    ]),
    ("Deliveries", [
        ("Attempts per second by outcome", "ops", [
            ('sum by (outcome) (rate(hookline_attempts_total{kind="deliveries"}[5m]))', "{{outcome}}")]),
        ("Success ratio", "percentunit", [
            ('sum(rate(hookline_attempts_total{kind="deliveries", outcome="succeeded"}[5m])) / sum(rate(hookline_attempts_total{kind="deliveries"}[5m]))', "succeeded")]),
        ("Attempt latency", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(hookline_attempt_duration_seconds_bucket{kind="deliveries"}[5m])))', "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(hookline_attempt_duration_seconds_bucket{kind="deliveries"}[5m])))', "p99")]),
        ("Attempts by error and status class", "ops", [
            ('sum by (error_class, status_class) (rate(hookline_attempts_total{kind="deliveries"}[5m]))', "{{error_class}} {{status_class}}")]),
        ("Received to delivered", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(hookline_received_to_delivered_seconds_bucket{kind="deliveries"}[5m])))', "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(hookline_received_to_delivered_seconds_bucket{kind="deliveries"}[5m])))', "p99")]),
        ("Queue depth by state", "short", [
            ("sum by (state) (max by (tenant, endpoint, state) (hookline_queue_depth))", "{{state}}")]),
        ("Oldest due delivery", "s", [
            ("max by (tenant, endpoint) (hookline_oldest_due_seconds)", "{{tenant}}/{{endpoint}}")]),
    ]),
    ("Dead-letter queue", [
        ("DLQ size by endpoint", "short", [
            ("max by (tenant, endpoint) (hookline_dlq_size)", "{{tenant}}/{{endpoint}}")]),
        ("DLQ growth over the last hour", "short", [
            ("max by (tenant, endpoint) (delta(hookline_dlq_size[1h]))", "{{tenant}}/{{endpoint}}")]),
        ("New dead letters per second by error class", "ops", [
            ('sum by (error_class, status_class) (rate(hookline_attempts_total{kind="deliveries", outcome="dead"}[5m]))', "{{error_class}} {{status_class}}")]),
    ]),
    ("Circuits", [
        ("Circuit breakers by state", "short", [
            ("max by (kind, state) (hookline_circuits)", "{{kind}} {{state}}")]),
        ("Open endpoint circuits", "short", [
            ("max by (tenant, endpoint) (hookline_endpoint_circuit_open)", "{{tenant}}/{{endpoint}}")]),
    ]),
    ("Outbox", [
        ("Sends per second by outcome", "ops", [
            ('sum by (outcome, error_class) (rate(hookline_attempts_total{kind="messages"}[5m]))', "{{outcome}} {{error_class}}")]),
        ("Messages claimed per second", "ops", [
            ('sum(rate(hookline_claimed_total{kind="messages"}[5m]))', "claimed")]),
    ]),
    ("Jobs, listener and paging", [
        ("Seconds since each job's last success", "s", [
            ("time() - max by (job_name) (hookline_job_last_success_timestamp_seconds)", "{{job_name}}")]),
        ("Jobs whose last run failed", "short", [
            ("max by (job_name) (hookline_job_last_run_failed)", "{{job_name}}")]),
        ("Listener silence", "s", [
            ("max by (instance, kind) (hookline_listener_silence_seconds)", "{{instance}} {{kind}}")]),
        ("Alerts firing (database-first paging)", "short", [
            ("max by (rule) (hookline_alerts_firing)", "{{rule}}")]),
        ("Undelivered alert notifications", "short", [
            ("max by (receiver) (hookline_alert_notifications_undelivered)", "{{receiver}}")]),
    ]),
]  # fmt: skip


def dashboard() -> Dashboard:
    board = (
        Dashboard("hookline")
        .uid("hookline")
        .tags(["hookline"])
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("utc")
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for row, panels in ROWS:
        board = board.with_row(Row(row))
        for title, unit, queries in panels:
            panel = Timeseries().title(title).unit(unit).datasource(PROMETHEUS).height(8).span(8)
            for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
                panel = panel.with_target(
                    Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(PROMETHEUS)
                )
            board = board.with_panel(panel)
    return board


def render() -> str:
    return json.dumps(dashboard().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
