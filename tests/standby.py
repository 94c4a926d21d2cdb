"""A real streaming standby of the test server: pg_basebackup -R, then a hot standby on its own
port (as the `postgres` OS user when the suite runs as root, like the primary)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from hookline.pgcluster import LocalPostgres


@contextlib.contextmanager
def standby(primary: LocalPostgres) -> Iterator[LocalPostgres]:
    root = Path(tempfile.mkdtemp(prefix="hookline-standby-"))
    replica = LocalPostgres(root, bindir=primary.bindir, durable=False, password=False,
                            cron=primary.use_cron)  # fmt: skip
    replica._hand_over(root)
    try:
        replica._run(
            str(primary.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        with (replica.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# --- the standby ---\nunix_socket_directories = '{root}'\n")
        replica.start()  # the copied data directory has PG_VERSION: no initdb
        yield replica
    finally:
        replica.stop()
        shutil.rmtree(root, ignore_errors=True)


def caught_up(primary_dsn: str, replica_dsn: str, timeout: float = 60) -> None:
    """Wait until the standby has replayed everything the primary had written so far."""
    with psycopg.connect(primary_dsn, autocommit=True) as p:
        (lsn,) = p.execute("select pg_current_wal_lsn()").fetchone() or (None,)
    with psycopg.connect(replica_dsn, autocommit=True) as r:
        deadline = time.monotonic() + timeout
        while not r.execute("select pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)
