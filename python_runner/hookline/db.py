"""Connections: where the DSN comes from and how a failure to connect reads."""

from __future__ import annotations

import os

import psycopg

from hookline.errors import DatabaseUnavailable, HooklineError, one_line

DSN_VARIABLES = ("HOOKLINE_DSN", "DATABASE_URL")


def resolve_dsn(dsn: str | None) -> str:
    """--dsn, else HOOKLINE_DSN, else DATABASE_URL."""
    if dsn:
        return dsn
    for name in DSN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    raise HooklineError("no database given: pass --dsn or set HOOKLINE_DSN (or DATABASE_URL)")


def describe(dsn: str) -> str:
    """host:port/dbname of a DSN, without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the database"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}/{info.get('dbname') or info.get('user') or ''}"


def connect(dsn: str, *, autocommit: bool = False, timeout: int = 10) -> psycopg.Connection:
    """Open a connection; any failure becomes one DatabaseUnavailable line naming the target."""
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=timeout)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to {describe(dsn)}: {one_line(exc)}") from exc
