"""A real PgBouncer (the Debian package) in front of the test server, started by a test.

The configuration is written here; PgBouncer refuses to run as root, so as root it runs as the
`postgres` OS user, like the test server. Clients authenticate to PgBouncer by name (trust, as
the test server does); PgBouncer connects to the server as the same user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from hookline.pgcluster import free_port

EXE = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return Path(EXE).is_file()


@dataclass
class Bouncer:
    port: int
    log: Path

    def dsn(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def show(self, what: str) -> list[dict[str, object]]:
        """SHOW <what> on PgBouncer's admin console (the `pgbouncer` database)."""
        with psycopg.connect(self.dsn("pgbouncer"), autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(f"show {what}".encode(), prepare=False)  # the console's simple protocol
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@contextlib.contextmanager
def pgbouncer(server_port: int, *, pool_mode: str = "transaction", pool_size: int = 2,
              query_timeout: int = 30) -> Iterator[Bouncer]:  # fmt: skip
    """PgBouncer on a free port of 127.0.0.1, every database of the server behind it, with
    `pool_size` server connections per database: fewer than its clients, so they share them."""
    root = Path(tempfile.mkdtemp(prefix="hookline-pgbouncer-"))
    port = free_port()
    log = root / "pgbouncer.log"
    (root / "users.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root / "users.txt"}
admin_users = postgres
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 500
query_timeout = {query_timeout}
logfile = {log}
"""
    )
    as_root = os.geteuid() == 0
    if as_root:
        for path in (root, *root.iterdir()):
            shutil.chown(path, "postgres", "postgres")
    user = {"user": "postgres", "group": "postgres", "extra_groups": []} if as_root else {}
    proc = subprocess.Popen(
        [EXE, str(root / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=root, **user,
    )  # fmt: skip
    try:
        bouncer = Bouncer(port, log)
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"pgbouncer exited:\n{_read(log)}"
            try:
                bouncer.show("version")
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, f"pgbouncer did not start:\n{_read(log)}"
                time.sleep(0.05)
        yield bouncer
    finally:
        proc.terminate()  # SIGTERM: immediate shutdown
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _read(log: Path) -> str:
    return log.read_text() if log.is_file() else "(no log)"
