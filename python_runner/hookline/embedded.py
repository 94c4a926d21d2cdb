"""The zero-setup database of `hookline up`: system PostgreSQL if installed, else pgserver."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hookline.errors import HooklineError
from hookline.pgcluster import LocalPostgres, find_bindir


@contextlib.contextmanager
def private_server(root: Path, port: int, kind: str = "auto") -> Iterator[str]:
    """Start (initialising on first use) a private server under `root`; yield its DSN.

    kind: `system` (PostgreSQL binaries of this machine, on 127.0.0.1:`port`), `embedded` (the
    pgserver wheel, on a unix socket in `root`), or `auto` (system when installed).
    """
    root.mkdir(parents=True, exist_ok=True)
    if kind == "system" or (kind == "auto" and find_bindir() is not None):
        server = LocalPostgres(root / "postgres", port=port)
        server.start()
        try:
            yield server.dsn("postgres")
        finally:
            server.stop()
        return
    try:
        import pgserver  # the optional extra `hookline[embedded]`, PostgreSQL 16
    except ImportError as exc:
        raise HooklineError(
            "the embedded server needs pgserver: pip install 'hookline[embedded]'"
            if kind == "embedded"
            else "no PostgreSQL found: install the postgresql package or pip install 'hookline[embedded]'"
        ) from exc
    server = pgserver.get_server(root / "pgserver", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
