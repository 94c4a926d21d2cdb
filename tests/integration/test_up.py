"""`hookline up`: a private server for a new user, and deploy-only with a DSN."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from hookline.pgcluster import LocalPostgres, free_port
from tests.conftest import require
from tests.helpers import ROOT, assert_prints, doc_commands, hookline
from tests.target import Target


@pytest.fixture
def data_dir() -> Path:
    # Not under pytest's tmp_path: as root the server runs as `postgres`, which must reach it.
    path = Path(tempfile.mkdtemp(prefix="hookline-up-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_up(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    # As a new user: no database and no key of the test run's in the environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKLINE_", "DATABASE_URL"))}
    return subprocess.Popen(
        [sys.executable, "-m", "hookline", "up", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def wait_for_dsn(proc: subprocess.Popen[str]) -> str:
    for line in proc.stdout:
        if line.startswith("hookline is up. Database: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError(proc.stderr.read())


def test_up_starts_a_private_server_deploys_and_stops_on_ctrl_c(data_dir: Path) -> None:
    port, ingress_port, metrics = free_port(), free_port(), (free_port(), free_port())
    args = ["--port", str(port), "--ingress-port", str(ingress_port),
            "--ingress-metrics-port", str(metrics[0]), "--runner-metrics-port", str(metrics[1])]  # fmt: skip
    with start_up(data_dir, *args) as proc:
        try:
            dsn = wait_for_dsn(proc)
            ingress = next(line for line in proc.stdout if line.startswith("Ingress: "))
            url = f"http://127.0.0.1:{ingress_port}"
            assert ingress == f"Ingress: {url}/webhooks/{{source}}\n"
            printed = next(line for line in proc.stdout if line.startswith("Metrics: "))
            scrapes = [f"http://127.0.0.1:{p}/metrics" for p in metrics]
            assert printed == f"Metrics: ingress {scrapes[0]}, runner {scrapes[1]}\n"
            assert wait_for_ready(url) == "ready\n", "the ingress serves the private database"
            assert f"127.0.0.1:{port}" in dsn
            with psycopg.connect(dsn) as conn:
                assert conn.execute(
                    "select to_regproc('hookline.ingest') is not null"
                ).fetchone() == (True,)
                # pg_cron, when installed, runs the jobs: extension, background workers and
                # registration all done by up; otherwise the runner runs them.
                runs_in = {r[0] for r in conn.execute("select runs_in from hookline.jobs")}
                if LocalPostgres(data_dir).has_cron:
                    assert runs_in == {"pg_cron"}
                    assert conn.execute("show cron.use_background_workers").fetchone() == ("on",)
                    registered = conn.execute(
                        "select count(*) from cron.job where jobname like 'hookline-%'"
                    ).fetchone()[0]
                    assert registered == len(list(conn.execute("select from hookline.jobs")))
                else:
                    assert runs_in == {"runner"}
            # Its runner delivers what is ingested.
            target = Target().start()
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("insert into hookline.tenants values ('acme', 'Acme')")
                    conn.execute(
                        "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
                        "values ('acme', 'wa', 'whatsapp', '{s}')"
                    )
                    conn.execute(
                        "select hookline.add_endpoint('acme', 'crm', %s)", (target.url("/ok"),)
                    )
                    conn.execute("select hookline.add_subscription('crm', '*')")
                    conn.execute(
                        "select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}')"
                    )
                deadline = time.monotonic() + 30
                while not target.requests and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert len(target.requests) == 1, "the runner started by up delivered the event"
                assert "hookline_ingress_requests_total" in httpx.get(scrapes[0]).text
                assert "hookline_metrics_database_up 1.0" in httpx.get(scrapes[1]).text
            finally:
                target.stop()
            # The printed DSN carries the generated password; a wrong one is refused in one line.
            wrong = dsn.replace("postgres:", "postgres:wrong", 1)
            run = hookline("db", "status", "--dsn", wrong)
            assert run.returncode == 1 and "password authentication failed" in run.stderr
            assert run.stderr.count("\n") == 1
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def wait_for_ready(url: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            answer = httpx.get(f"{url}/readyz", timeout=2)
            if answer.status_code == 200:
                return answer.text
        time.sleep(0.1)
    return "not ready"


def test_up_falls_back_to_the_embedded_server(data_dir: Path) -> None:
    ports = ["--ingress-port", str(free_port()), "--ingress-metrics-port", str(free_port()),
             "--runner-metrics-port", str(free_port())]  # fmt: skip
    with start_up(data_dir, "--server", "embedded", *ports) as proc:
        try:
            dsn = wait_for_dsn(proc)
            with psycopg.connect(dsn) as conn:
                version = conn.execute("show server_version_num").fetchone()[0]
                assert int(version) >= 160000, "pgserver ships PostgreSQL 16"
                deployed = conn.execute(
                    "select to_regproc('hookline.ingest') is not null"
                ).fetchone()
                assert deployed == (True,)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 0


def test_up_with_a_dsn_only_deploys(empty_db: str) -> None:
    run = hookline("up", "--dsn", empty_db)
    assert run.returncode == 0, run.stderr
    assert "schema deployed" in run.stdout
    assert "nothing to deploy" in hookline("db", "deploy", "--dsn", empty_db).stdout


def test_the_readmes_tour_runs_as_written(data_dir: Path) -> None:
    """The README's tour, in one bash -e beside a running `hookline up`: the export line it
    prints stands for the tour's, and the second runner runs for a few seconds."""
    require(shutil.which("psql") is not None, "psql")
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour") : readme.index("## How it works")]
    lines = doc_commands(tour)
    assert lines[0].startswith("hookline up "), "the tour starts with hookline up"
    assert lines[1].startswith("export HOOKLINE_DSN="), "then the line up prints"
    runner = next(i for i, line in enumerate(lines) if line.startswith("hookline runner "))
    ports = ["--port", str(free_port()), "--ingress-port", str(free_port()),
             "--ingress-metrics-port", str(free_port()), "--runner-metrics-port", str(free_port())]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKLINE_", "DATABASE_URL"))}
    # The runner's default metrics port is taken, as it is by the runner `hookline up` runs
    # with its defaults (taken already, by whatever holds it, is the same case).
    taken = socket.socket()
    with contextlib.suppress(OSError):
        taken.bind(("127.0.0.1", 9465))
        taken.listen()
    with taken, start_up(data_dir, *ports) as proc:
        try:
            dsn = wait_for_dsn(proc)
            assert next(proc.stdout).startswith("  psql ")
            assert next(proc.stdout) == "For the other commands, in another shell:\n"
            exports = next(proc.stdout).strip()
            assert (
                exports.startswith("export HOOKLINE_DSN=")
                and "HOOKLINE_SECRET_KEY_FILE=" in exports
            )
            names = [re.findall(r"(\w+)=", line) for line in (lines[1], exports)]
            assert names[0] == names[1], "the tour exports what up prints"
            lines[1] = exports
            lines[runner] = f"timeout -s INT --preserve-status 5 {lines[runner]}"
            run = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", "\n".join(lines[1:])], cwd=ROOT,
                env={**env, "APP_SECRET": "app-secret", "WA_VERIFY_TOKEN": "verify-token",
                     "WA_TOKEN": "EAAG-token", "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    assert run.returncode == 0, f"--- stderr:\n{run.stderr}\n--- stdout:\n{run.stdout}"
    assert "Traceback" not in run.stderr
    assert_prints(lines[0], f"hookline is up. Database: {dsn}", "README.md's tour, hookline up")
    assert_prints("\n".join(lines[1:]), run.stdout + run.stderr, "README.md's tour")
    # What the tour says the two ingests return: a new event, then the same one again.
    news = [
        line.split("|")[-1].strip()
        for line in run.stdout.splitlines()
        if "| t" in line or "| f" in line
    ]
    assert news[:2] == ["t", "f"], run.stdout
