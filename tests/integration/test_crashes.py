"""Crashes and database faults done to real processes, checked with the crash ledger's
invariants: nothing acknowledged is lost, a webhook sent twice carries the same webhook-id,
no delivery is left in flight past its lease, and each result is recorded once.

The completer's faults are real PostgreSQL errors: a trigger installed in the test database
on hookline.attempts stalls the first `complete` (pg_sleep) and, for a deadlock, makes it
wait for an advisory lock that another session holds while that session waits for the
delivery row the complete has locked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres, free_port
from tests.conftest import Server
from tests.ingress_helpers import (
    FIXTURES,
    DroppingProxy,
    Proxy,
    announced_metrics_url,
    running_ingress,
    sign,
)
from tests.integration.conftest import RunnerProcess, scalar, wait_until
from tests.integration.test_runner import add_endpoint, ingest, queued, successes_per_delivery
from tests.target import Target

FAULT = """
create sequence public.fault_calls;
create function public.fault() returns trigger language plpgsql as $$
begin
  -- Only the first attempt row: the retried complete goes through.
  if nextval('public.fault_calls') = 1 then
    perform pg_sleep(%(sleep_s)s);
    if %(lock)s then
      perform pg_advisory_xact_lock(4242);
    end if;
  end if;
  return null;
end $$;
create trigger fault after insert on hookline.attempts
  for each row execute function public.fault();
"""


def install_fault(conn: psycopg.Connection, *, sleep_s: float, lock: bool = False) -> None:
    conn.execute(FAULT.replace("%(sleep_s)s", str(sleep_s)).replace("%(lock)s", str(lock).lower()))


def set_for_new_sessions(conn: psycopg.Connection, setting: str, value: str) -> None:
    conn.execute(
        sql.SQL("alter database {} set {} = {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(setting), sql.Literal(value)
        )
    )


def complete_is(conn: psycopg.Connection, wait_event: str) -> bool:
    """A runner's hookline.complete is waiting on wait_event (PgSleep, advisory ...)."""
    return bool(scalar(
        conn,
        "select count(*) > 0 from pg_stat_activity where datname = current_database() "
        "and query like '%%hookline.complete(%%' and wait_event = %s and pid <> pg_backend_pid()",
        (wait_event,),
    ))  # fmt: skip


def assert_recorded_once(conn: psycopg.Connection, target: Target, count: int) -> None:
    assert sorted(successes_per_delivery(conn).values()) == [1] * count
    assert scalar(conn, "select count(*) from hookline.attempts") == count, (
        "one attempt each: no result recorded twice, none stale"
    )
    assert sorted(target.ids().values()) == [1] * count, "nothing sent again"


@pytest.mark.slow
def test_a_complete_cancelled_by_statement_timeout_is_retried_and_recorded_once(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    # The timeout applies to every session of the runner, its start-up checks too. At 300 ms
    # under heavy load a check could take longer and the runner exited at its start (the
    # queue never drained: the flake); start-up checks are now retried like every other call,
    # and 1 s is far from any statement's real work while the stalled complete (5 s) still
    # meets it every time. The request's own timeout (2 s by default here) and the wait are
    # far from a loaded machine's pace too: a request that timed out would be sent again.
    add_endpoint(conn, "crm", target.url("/ok"), timeout_ms=30_000)
    install_fault(conn, sleep_s=5.0)
    set_for_new_sessions(conn, "statement_timeout", "1s")
    ingest(conn, "crm", 3)
    runner = runners("r1")
    wait_until(lambda: queued(conn) == 0 or runner.proc.poll() is not None, timeout=180, what="the results to be recorded")  # fmt: skip
    assert runner.proc.poll() is None, f"the runner exited:\n{runner.output()}"
    assert re.search(
        r"recording \d+ deliveries results failed \(57014\): canceling statement due to "
        r"statement timeout; retry 1 in", runner.output()
    ), runner.output()  # fmt: skip
    assert_recorded_once(conn, target, 3)


@pytest.mark.slow
def test_a_complete_that_deadlocks_is_retried_and_recorded_once(db: str, conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/ok"))
    install_fault(conn, sleep_s=1.5, lock=True)
    set_for_new_sessions(conn, "deadlock_timeout", "200ms")
    ingest(conn, "crm", 1)
    (delivery_id,) = conn.execute("select delivery_id from hookline.deliveries").fetchone()
    with psycopg.connect(db) as other:
        other.execute("set deadlock_timeout = '1min'")  # so the runner's session detects it
        other.execute("select pg_advisory_xact_lock(4242)")
        runner = runners("r1")
        wait_until(lambda: complete_is(conn, "PgSleep"), what="the complete to hold the row")
        # The complete holds the delivery's row and will wait for the advisory lock: this
        # session waits for the row first, so the runner's session finds the cycle and fails.
        other.execute(
            "select 1 from hookline.deliveries where delivery_id = %s for update", (delivery_id,)
        )
        wait_until(lambda: "(40P01)" in runner.output(), what="the deadlock")
        other.rollback()
    wait_until(lambda: queued(conn) == 0, what="the result to be recorded after the retry")
    assert "deadlock detected" in runner.output()
    assert_recorded_once(conn, target, 1)


@pytest.mark.slow
def test_sigterm_during_a_flush_records_each_result_once_and_exits_0(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/ok"), max_in_flight=20)
    install_fault(conn, sleep_s=2.0)
    ingest(conn, "crm", 10)
    runner = runners("r1")
    wait_until(lambda: complete_is(conn, "PgSleep"), what="a flush in progress")
    runner.signal(signal.SIGTERM)
    assert runner.wait(30) == 0, runner.output()
    assert queued(conn) == 0, "every result recorded before the exit, no lease left behind"
    assert_recorded_once(conn, target, 10)
    assert "results not recorded" not in runner.output()


@pytest.mark.slow
def test_a_runner_killed_mid_batch_leaves_nothing_lost_or_in_flight_past_its_lease(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/100"), max_in_flight=16)
    ingest(conn, "crm", 200)
    first = runners("r1", "--lease", "2", "--concurrency", "16")
    wait_until(lambda: len(target.requests) >= 40, what="the first runner to get going")
    first.signal(signal.SIGKILL)
    first.wait(10)
    leased = scalar(conn, "select count(*) from hookline.deliveries where state = 'in_flight'")
    assert leased, "killed in the middle of a batch"
    runners("r2", "--lease", "2", "--concurrency", "16")
    wait_until(lambda: queued(conn) == 0, what="the second runner to finish")
    assert sorted(successes_per_delivery(conn).values()) == [1] * 200
    seen = target.ids()
    assert len(seen) == 200, "nothing lost"
    bodies: dict[bytes, set[str]] = {}
    for r in target.requests:
        bodies.setdefault(r.body, set()).add(r.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in bodies.values()), "a resent event has the same webhook-id"


@pytest.mark.slow
def test_a_result_the_database_refuses_is_dropped_loudly_and_the_rest_recorded(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/ok"))
    ingest(conn, "crm", 8)
    (poison,) = conn.execute("select min(delivery_id) from hookline.deliveries").fetchone()
    conn.execute(
        "create function public.refuse() returns trigger language plpgsql as $$ begin "
        f"if new.delivery_id = {int(poison)} then raise exception using errcode = '22023', "
        "message = 'refused by the test'; end if; return null; end $$"
    )
    conn.execute(
        "create trigger refuse after insert on hookline.attempts "
        "for each row execute function public.refuse()"
    )
    runner = runners("r1", "--lease", "2")
    wait_until(lambda: queued(conn) == 1, what="the other seven results")
    wait_until(
        lambda: f"refused the result for delivery_id {poison} (22023" in runner.output(),
        what="the log line of the refused result",
    )
    assert sorted(successes_per_delivery(conn).values()) == [1] * 7
    assert (
        scalar(conn, "select count(*) from hookline.attempts where delivery_id = %s", (poison,))
        == 0
    )
    metrics = httpx.get(announced_metrics_url(runner.log), timeout=10).text
    assert 'hookline_results_dropped_total{kind="deliveries",reason="refused"} 1.0' in metrics
    conn.execute("drop trigger refuse on hookline.attempts")
    wait_until(lambda: queued(conn) == 0, what="the refused delivery, sent again after its lease")
    assert target.ids()[f"dlv_{poison}"] >= 2


def hookline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args], env={**os.environ, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_database_wait_sets_how_long_a_start_waits_for_a_stopped_server_and_0_fails_at_once(own_server: LocalPostgres) -> None:  # fmt: skip
    # The user sees, with --database-wait 0, the error at once:
    #   hookline: cannot connect to 127.0.0.1:PORT/postgres: connection failed: ... Connection refused
    # and with HOOKLINE_DATABASE_WAIT=1.5 one line when it starts waiting, then the same error
    # after 1.5 s (not 60), exit status 1 both times.
    own_server.stop()
    try:
        dsn = {"HOOKLINE_DSN": own_server.dsn("postgres")}
        at_once = hookline("runner", "--database-wait", "0", "--metrics-port", "0", env=dsn)
        assert at_once.returncode == 1, at_once.stderr
        assert at_once.stderr.startswith("hookline: cannot connect to 127.0.0.1:"), at_once.stderr
        assert "waiting" not in at_once.stderr, at_once.stderr
        waited = hookline("ingress", "--metrics-port", "0", env={**dsn, "HOOKLINE_DATABASE_WAIT": "1.5"})  # fmt: skip
        assert waited.returncode == 1, waited.stderr
        first, *_, last = waited.stderr.splitlines()
        assert first.startswith("hookline: cannot connect to 127.0.0.1:"), waited.stderr
        assert first.endswith("; waiting up to 1.5 s for it"), waited.stderr
        assert last.startswith("hookline: cannot connect to 127.0.0.1:"), waited.stderr
        assert "answered" not in waited.stderr
    finally:
        own_server.start()


@pytest.mark.parametrize(
    ("command", "args", "env"),
    [
        ("runner", ["--database-wait", "-1"], {}),
        ("ingress", ["--database-wait", "soon"], {}),
        ("runner", [], {"HOOKLINE_DATABASE_WAIT": "nan"}),
    ],
)  # fmt: skip
def test_an_invalid_database_wait_is_a_usage_error(command: str, args: list[str], env: dict[str, str]) -> None:  # fmt: skip
    # Refused before anything connects (no DSN needed): exit status 2 and click's line, e.g.
    #   Error: Invalid value for '--database-wait': -1.0 is not in the range 0<=x<=86400.
    run = hookline(command, *args, env={"HOOKLINE_DSN": "postgresql://127.0.0.1:1/x", **env})
    assert run.returncode == 2, run.stderr
    assert "Error: Invalid value for '--database-wait'" in run.stderr, run.stderr


@pytest.mark.slow
def test_a_start_up_check_that_may_pass_when_asked_again_is_retried_within_the_wait(db: str, conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    # A migration holds a lock on the schema version while a runner starts, and the database
    # sets lock_timeout: the runner's schema check fails with 55P03, which hookline retries
    # everywhere else. The runner used to exit at once ("hookline: SQLSTATE 55P03: canceling
    # statement due to lock timeout", status 1). Now the user sees
    #   hookline: 127.0.0.1:PORT/DB: the start-up checks failed (55P03): canceling statement
    #   due to lock timeout; waiting up to 60 s for it
    #   hookline: 127.0.0.1:PORT/DB answered after 1.52 s
    # and the runner runs; with --database-wait 1 it exits with that error after 1 s.
    add_endpoint(conn, "crm", target.url("/ok"))
    set_for_new_sessions(conn, "lock_timeout", "100ms")
    with psycopg.connect(db) as migration:
        migration.execute("lock table hookline.schema_changes in access exclusive mode")
        short = runners("r0", "--database-wait", "1")
        assert short.wait(30) == 1, short.output()
        lines = short.output().splitlines()
        assert re.fullmatch(
            r"hookline: 127\.0\.0\.1:\d+/\w+: the start-up checks failed \(55P03\): canceling "
            r"statement due to lock timeout; waiting up to 1 s for it",
            lines[0],
        ), lines  # fmt: skip
        assert lines[-1] == "hookline: SQLSTATE 55P03: canceling statement due to lock timeout"
        runner = runners("r1")
        wait_until(lambda: "waiting up to 60 s for it" in runner.output() or runner.proc.poll() is not None, what="a wait or an exit")  # fmt: skip
        time.sleep(1)  # a second later: still trying, not exited
        assert runner.proc.poll() is None, runner.output()
    conn.execute(sql.SQL("alter database {} reset lock_timeout").format(sql.Identifier(conn.info.dbname)))  # fmt: skip
    ingest(conn, "crm", 1)
    wait_until(lambda: queued(conn) == 0, what="the delivery, once the lock is released")
    assert "answered after" in runner.output(), runner.output()
    assert_recorded_once(conn, target, 1)


@pytest.fixture(scope="module")
def own_server() -> Iterator[LocalPostgres]:
    """A server of this module's own, to stop and start: durable, as production runs."""
    root = Path(tempfile.mkdtemp(prefix="hookline-restart-pg-"))
    pg = LocalPostgres(root, password=False, cron=False)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


class Load:
    """Signed WhatsApp notifications POSTed to the ingress one after another, each with a new
    wamid, until stopped; `acked` holds (wamid, time of the 200) of those answered 200."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret
        self.acked: list[tuple[str, float]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        template = (FIXTURES / "text.json").read_bytes()
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self.stopping.is_set():
                n += 1
                wamid = f"wamid.R{n}"
                body = template.replace(b"wamid.HBgL1", wamid.encode())
                headers = {"content-type": "application/json", "x-hub-signature-256": sign(self.secret, body)}  # fmt: skip
                try:
                    answer = client.post(self.url, content=body, headers=headers)
                except httpx.TransportError:
                    continue
                if answer.status_code == 200:
                    self.acked.append((wamid, time.monotonic()))
                time.sleep(0.005)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(60)


@pytest.mark.slow
def test_an_immediate_postgresql_restart_under_load_loses_nothing_acknowledged(own_server: LocalPostgres, target: Target, tmp_path: Path) -> None:  # fmt: skip
    with psycopg.connect(own_server.dsn(), autocommit=True) as admin:
        admin.execute("drop database if exists restart")
        admin.execute("create database restart")
    dsn = own_server.dsn("restart")
    Migrator(dsn).deploy()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret', 'vt', 65536, true)")  # fmt: skip
        add_endpoint(conn, "crm", target.url("/ok"), max_in_flight=32)
        conn.execute("select hookline.add_subscription(endpoint => 'crm', event_type_pattern => '*')")  # fmt: skip
    runner = RunnerProcess(dsn, "r1", "--lease", "5")
    try:
        with running_ingress(dsn, tmp_path / "ingress.log", "--db-timeout", "2") as ingress:
            load = Load(f"{ingress.url}/webhooks/wa", "app-secret")
            wait_until(lambda: len(target.requests) >= 30, what="deliveries under load")
            own_server.stop("immediate")
            time.sleep(1)  # the load meets the outage
            own_server.start()  # returns once the server accepts connections
            up = time.monotonic()
            wait_until(lambda: any(at > up for _, at in load.acked), what="a 200 after the restart")
            wait_until(lambda: any(r.at > up for r in target.requests), what="a delivery after the restart")  # fmt: skip
            assert httpx.get(f"{ingress.url}/readyz", timeout=30).status_code == 200
            load.stop()
            ingress.proc.send_signal(signal.SIGTERM)
            assert ingress.proc.wait(30) == 0, ingress.log.read_text()
            ingress_log = ingress.log.read_text()
        with psycopg.connect(dsn, autocommit=True) as conn:
            wait_until(lambda: scalar(conn, "select count(*) from hookline.deliveries") == 0, what="the queue to drain")  # fmt: skip
        runner.signal(signal.SIGTERM)
        assert runner.wait(30) == 0, runner.output()
        runner_log = runner.output()
    finally:
        runner.stop()

    webhook_ids: dict[bytes, set[str]] = {}
    delivered: set[str] = set()
    for r in target.requests:
        webhook_ids.setdefault(r.body, set()).add(r.headers["webhook-id"])
        delivered.update(m.decode() for m in re.findall(rb"wamid\.R[0-9]+", r.body))
    acked = {wamid for wamid, _ in load.acked}
    assert acked and acked <= delivered, (
        f"acknowledged, never delivered: {sorted(acked - delivered)[:5]}"
    )
    assert all(len(ids) == 1 for ids in webhook_ids.values()), (
        "a resent event has the same webhook-id"
    )
    assert "reconnected after" in runner_log and "reconnected after" in ingress_log
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ", runner_log), (
        "timestamp and level"
    )


@pytest.mark.slow
def test_a_runner_and_an_ingress_started_while_the_database_is_down_wait_for_it(server: Server, db: str, conn, tenant_source, target: Target, tmp_path: Path) -> None:  # fmt: skip
    # A supervisor restarts a process killed during a database restart while the database is
    # still down: both used to exit at once with "cannot connect" (the crash ledger's runs hit
    # it twice in six), again at each restart, and a supervisor may give up on them.
    add_endpoint(conn, "crm", target.url("/ok"))
    conn.execute("select hookline.add_subscription(endpoint => 'crm', event_type_pattern => '*')")
    proxy = Proxy(server.port)
    proxy.down()  # accepts connections and closes them, as a server shutting down does
    dsn = db.replace(f":{server.port}/", f":{proxy.port}/")
    port = free_port()
    log = tmp_path / "ingress.log"
    env = {**os.environ, "HOOKLINE_DSN": dsn}
    with log.open("wb") as out:
        ingress = subprocess.Popen(
            [sys.executable, "-m", "hookline", "ingress", "--port", str(port), "--metrics-port", "0"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    runner = RunnerProcess(dsn, "r1")
    try:
        for proc, output in ((runner.proc, runner.output), (ingress, log.read_text)):
            wait_until(lambda proc=proc, output=output: "waiting up to 60 s for it" in output() or proc.poll() is not None, what="a wait or an exit")  # fmt: skip
        time.sleep(1)  # still down, a second later: still waiting, not exited
        assert runner.proc.poll() is None, runner.output()
        assert ingress.poll() is None, log.read_text()
        proxy.up()
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            return False

        wait_until(healthy, what="the ingress to serve once the database answers")
        body = (FIXTURES / "text.json").read_bytes()
        headers = {"content-type": "application/json", "x-hub-signature-256": sign("app-secret", body)}  # fmt: skip
        assert httpx.post(f"{url}/webhooks/acme-wa", content=body, headers=headers, timeout=30).status_code == 200  # fmt: skip
        wait_until(lambda: len(target.requests) == 1, what="the delivery")
        assert b"wamid.HBgL1" in target.requests[0].body
        assert "answered after" in runner.output() and "answered after" in log.read_text()
    finally:
        ingress.terminate()
        ingress.wait(30)
        runner.stop()
        proxy.close()


@pytest.mark.slow
def test_a_connection_lost_during_a_start_up_check_is_waited_for_not_taken_for_a_refusal(server: Server, db: str, conn, tenant_source, target: Target, tmp_path: Path) -> None:  # fmt: skip
    # The server restarts, or a pooler drops the connection, between a start-up check's
    # connect and its query: the connection closes with no SQLSTATE while the server already
    # answers again. The runner and the ingress took that for a server refusing them and
    # exited at once (status 1) with
    #   hookline: consuming input failed: server closed the connection unexpectedly
    # Now the user sees
    #   hookline: 127.0.0.1:PORT/DB: the start-up checks failed (connection): consuming input
    #   failed: server closed the connection unexpectedly; waiting up to 60 s for it
    #   hookline: 127.0.0.1:PORT/DB answered after 0.05 s
    # and both run: a webhook posted to the ingress is delivered by the runner.
    add_endpoint(conn, "crm", target.url("/ok"))
    conn.execute("select hookline.add_subscription(endpoint => 'crm', event_type_pattern => '*')")
    proxies = [DroppingProxy(server.port, drops=2), DroppingProxy(server.port, drops=2)]
    dsns = [db.replace(f":{server.port}/", f":{p.port}/") for p in proxies]
    port = free_port()
    log = tmp_path / "ingress.log"
    with log.open("wb") as out:
        ingress = subprocess.Popen(
            [sys.executable, "-m", "hookline", "ingress", "--port", str(port), "--metrics-port", "0"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HOOKLINE_DSN": dsns[0]},
        )  # fmt: skip
    runner = RunnerProcess(dsns[1], "r1")
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            return ingress.poll() is not None  # exited: the assertions below say why

        wait_until(healthy, what="the ingress to serve (or exit)")
        assert ingress.poll() is None, log.read_text()
        body = (FIXTURES / "text.json").read_bytes()
        headers = {"content-type": "application/json", "x-hub-signature-256": sign("app-secret", body)}  # fmt: skip
        assert httpx.post(f"{url}/webhooks/acme-wa", content=body, headers=headers, timeout=30).status_code == 200  # fmt: skip
        wait_until(lambda: len(target.requests) == 1 or runner.proc.poll() is not None, what="the delivery (or an exit)")  # fmt: skip
        assert runner.proc.poll() is None, runner.output()
        assert b"wamid.HBgL1" in target.requests[0].body
        for output in (log.read_text(), runner.output()):
            lines = output.splitlines()
            assert re.fullmatch(
                r"hookline: 127\.0\.0\.1:\d+/\w+: the start-up checks failed \(connection\): "
                r".*server closed the connection unexpectedly; waiting up to 60 s for it",
                lines[0],
            ), output  # fmt: skip
            assert re.fullmatch(r"hookline: 127\.0\.0\.1:\d+/\w+ answered after \d+\.\d\d s", lines[1]), output  # fmt: skip
        assert [p.dropped for p in proxies] == [2, 2], (
            "each check's first two connections were dropped"
        )
    finally:
        ingress.terminate()
        ingress.wait(30)
        runner.stop()
        for p in proxies:
            p.close()


@pytest.mark.slow
def test_a_running_runner_retries_connections_lost_mid_query(server: Server, db: str, conn, tenant_source, target: Target) -> None:  # fmt: skip
    # The main loop's retry (hookline.resilience.retrying) has no refusal rule: a statement's
    # error without a SQLSTATE is transient there. Every connection is cut while the runner
    # runs, and the next three it makes are dropped at their first statement: it delivers.
    add_endpoint(conn, "crm", target.url("/ok"))
    proxy = DroppingProxy(server.port, drops=0)
    runner = RunnerProcess(db.replace(f":{server.port}/", f":{proxy.port}/"), "r1")
    try:
        wait_until(lambda: "runner r1 started" in runner.output() or runner.proc.poll() is not None, what="the start")  # fmt: skip
        with proxy.lock:
            proxy.drops = proxy.dropped + 3
        proxy.cut()
        ingest(conn, "crm", 1)
        wait_until(lambda: len(target.requests) == 1 or runner.proc.poll() is not None, what="the delivery (or an exit)")  # fmt: skip
        assert runner.proc.poll() is None, runner.output()
        assert proxy.dropped == proxy.drops, "three connections were dropped mid-query"
        # The handler has the request; its result is recorded after it (through the proxy).
        wait_until(lambda: scalar(conn, "select count(*) from hookline.deliveries") == 0 or runner.proc.poll() is not None, what="the result recorded")  # fmt: skip
        assert_recorded_once(conn, target, 1)
    finally:
        runner.stop()
        proxy.close()


@pytest.mark.parametrize("command", [["runner", "--name", "r1"], ["ingress", "--metrics-port", "0"]])  # fmt: skip
def test_a_server_that_refuses_the_database_is_an_error_at_once_not_a_wait(server: Server, command: list[str]) -> None:  # fmt: skip
    # The wait at the start is for a server that is down, starting or shutting down. One that
    # answers and refuses (an unknown database, a wrong role or password) would refuse as well
    # after 60 s: the user sees the error at once, not a wait.
    for dsn in (
        server.dsn("no_such_database"),
        server.dsn("postgres").replace("postgres@", "nobody@"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "hookline", *command], env={**os.environ, "HOOKLINE_DSN": dsn},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        assert run.stderr.startswith("hookline: cannot connect to 127.0.0.1:"), run.stderr
        assert "does not exist" in run.stderr and "waiting" not in run.stderr, run.stderr
