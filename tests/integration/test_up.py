"""`hookline up`: a private server for a new user, and deploy-only with a DSN."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from hookline.pgcluster import free_port
from tests.helpers import hookline
from tests.target import Target


@pytest.fixture
def data_dir() -> Path:
    # Not under pytest's tmp_path: as root the server runs as `postgres`, which must reach it.
    path = Path(tempfile.mkdtemp(prefix="hookline-up-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_up_starts_a_private_server_deploys_and_stops_on_ctrl_c(data_dir: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
    with subprocess.Popen(
        [sys.executable, "-m", "hookline", "up", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) as proc:  # fmt: skip
        try:
            dsn = None
            for line in proc.stdout:
                if line.startswith("hookline is up. Database: "):
                    dsn = line.split(": ", 1)[1].strip()
                    break
            assert dsn, proc.stderr.read()
            assert f"127.0.0.1:{port}" in dsn
            with psycopg.connect(dsn) as conn:
                assert conn.execute(
                    "select to_regproc('hookline.ingest') is not null"
                ).fetchone() == (True,)
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


def test_up_with_a_dsn_only_deploys(empty_db: str) -> None:
    run = hookline("up", "--dsn", empty_db)
    assert run.returncode == 0, run.stderr
    assert "schema deployed" in run.stdout
    assert "nothing to deploy" in hookline("db", "deploy", "--dsn", empty_db).stdout
