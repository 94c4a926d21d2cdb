"""Paging without a Prometheus stack: thresholds in hookline.alert_rules, the evaluate_alerts job
raises and resolves alerts, and the runner delivers them to a local receiver that validates
the PagerDuty Events API v2 and Opsgenie (Alertmanager webhook) payload shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from tests.alert_receiver import Receiver
from tests.helpers import hookline
from tests.ingress_helpers import announced_metrics_url
from tests.integration.conftest import RunnerProcess, wait_until
from tests.target import Target


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_a_dlq_threshold_pages_and_resolves(
    db: str, target: Target, receiver: Receiver, runners: Callable[..., RunnerProcess]
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("insert into hookline.tenants values ('acme', 'Acme'), ('ops', 'Ops')")
        conn.execute("insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
                     "values ('acme', 'wa', 'whatsapp', '{s}')")  # fmt: skip
        conn.execute("select hookline.add_endpoint('acme', 'gone', %s)", (target.url("/410"),))
        conn.execute("select hookline.add_subscription('gone', '*')")
        # Thresholds are rows: page on the first dead letter.
        conn.execute("update hookline.alert_rules set threshold = 0 where rule_name = 'dlq_size'")
        for name, fmt, url, key in [
            ("pd", "pagerduty", receiver.url("/pagerduty"), "R0UTING"),
            ("og", "opsgenie", receiver.url("/opsgenie"), None),
            ("broken", "pagerduty", target.url("/410"), "R0UTING"),
        ]:
            conn.execute("select hookline.add_alert_receiver('ops', %s, %s, %s, %s)",
                         (name, fmt, url, key))  # fmt: skip
        conn.execute("select hookline.ingest('wa', 'wamid.HBgL1', 'whatsapp.message.text', "
                     """'{"from": "16505551234", "text": {"body": "Hello Barbara"}}')""")  # fmt: skip
        # The runner fires snapshot_stats and evaluate_alerts every minute (no pg_cron runs
        # this database's jobs): a scheduled run between the death and the runs below would
        # raise or resolve the alert first. Disabled, the runners leave them to this test
        # (`hookline cron run` still runs a disabled job).
        conn.execute("update hookline.jobs set is_enabled = false "
                     "where job_name in ('snapshot_stats', 'evaluate_alerts')")  # fmt: skip
        runner = runners("pager")

        def dead(n: int) -> Callable[[], bool]:
            return lambda: (
                conn.execute(
                    "select count(*) from hookline.dead_letters where state = 'dead'"
                ).fetchone()
                == (n,)
            )

        wait_until(dead(1), what="the delivery to gone is dead")

        # Threshold crossed -> the job fires (run as pg_cron or a runner would run it).
        assert hookline("cron", "run", "snapshot_stats", "--dsn", db).returncode == 0
        run = hookline("cron", "run", "evaluate_alerts", "--dsn", db)
        dedup = "dlq_size:gone/acme"
        firing = conn.execute(
            "select count(*) from hookline.alerts where dedup_key = %s and state = 'firing'",
            (dedup,),
        ).fetchone()
        assert run.returncode == 0 and firing == (1,), run.stdout
        assert "1 raised, 0 resolved, 3 notifications queued" in run.stdout, run.stdout

        wait_until(lambda: receiver.got("/pagerduty", "event_action", "trigger"), what="PD trigger")
        wait_until(
            lambda: receiver.got("/opsgenie", "status", "firing") or receiver.invalid,
            what="Opsgenie firing",
        )
        assert receiver.invalid == []
        (pd,) = receiver.got("/pagerduty", "event_action", "trigger")
        assert pd["dedup_key"] == dedup and pd["routing_key"] == "R0UTING"
        assert pd["payload"]["severity"] == "warning"
        assert pd["payload"]["component"] == "gone" and pd["payload"]["group"] == "acme"
        assert pd["links"][0]["href"].endswith("#hooklinedeadlettersgrowing")
        (og,) = receiver.got("/opsgenie", "status", "firing")
        assert og["groupKey"] == dedup and og["alerts"][0]["labels"]["alertname"] == "dlq_size"

        # The notification to the broken receiver is dead: visible in the job's result, in
        # hookline stats and in the runner's metrics (and not paged about through itself).
        wait_until(dead(2), what="the notification to the broken receiver is dead")
        summary = conn.execute("select hookline.evaluate_alerts()").fetchone()[0]
        assert summary == "0 raised, 0 resolved, 0 notifications queued, 1 undelivered"
        stats = json.loads(hookline("stats", "--json", "--dsn", db).stdout)
        assert stats["undelivered_alerts"] == {"broken": 1}
        assert hookline("stats", "--dsn", db).stdout.count("undelivered alerts:    broken 1") == 1
        metrics = httpx.get(announced_metrics_url(runner.log)).text
        assert 'hookline_alert_notifications_undelivered{receiver="broken"} 1.0' in metrics
        assert 'hookline_alerts_firing{rule="dlq_size"} 1.0' in metrics

        # Cleared -> resolved, with the same dedup key.
        (gone,) = conn.execute(
            "select d.delivery_id from hookline.dead_letters d join hookline.endpoints e "
            "using (endpoint_id) where e.name = 'gone'"
        ).fetchone()
        conn.execute("select hookline.discard(array[%s]::bigint[], 'handled')", (gone,))
        conn.execute("select hookline.snapshot_stats(now() + interval '1 minute')")
        summary = conn.execute("select hookline.evaluate_alerts(now() + interval '1 minute')")
        assert summary.fetchone()[0].startswith("0 raised, 1 resolved, 3 notifications queued")
        wait_until(lambda: receiver.got("/pagerduty", "event_action", "resolve"), what="PD resolve")
        wait_until(lambda: receiver.got("/opsgenie", "status", "resolved"), what="Opsgenie resolve")
        (resolve,) = receiver.got("/pagerduty", "event_action", "resolve")
        assert resolve == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": dedup}
        (closed,) = receiver.got("/opsgenie", "status", "resolved")
        assert (
            closed["groupKey"] == dedup and closed["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
        )

    assert receiver.invalid == []
    sent = json.dumps([doc for _path, doc in receiver.valid])
    for personal in ("16505551234", "Barbara", "wamid"):
        assert personal not in sent, "no personal data in an alert"
