"""Connections: where the DSN comes from and how a failure to connect reads."""

from __future__ import annotations

import ctypes
import functools
import os
import re
import secrets
import select
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import pq

from hookline import queries
from hookline.errors import ConnectFailed, HooklineError, ReadOnlyDatabase, one_line

DSN_VARIABLES = ("HOOKLINE_DSN", "DATABASE_URL")
LISTEN_DSN_VARIABLE = "HOOKLINE_LISTEN_DSN"

# Every connection works through a transaction pooler (PgBouncer, docs/scaling.md): no
# server-side prepared statements, which live in one server session (PgBouncer keeps them
# across its pool only from 1.21 on, with max_prepared_statements). hookline's statements are
# function calls whose plans PL/pgSQL caches; the ingress, whose group call is the hot path,
# turns preparing on for the connections it finds are its own (hookline.ingress).
CONNECT_KWARGS: dict[str, Any] = {"prepare_threshold": None}
# Session state the pooled connections need is none: locks are transaction-scoped, SETs are
# set_config(..., true), and LISTEN has its own session connection (--listen-dsn).
POOL_KWARGS: dict[str, Any] = {**CONNECT_KWARGS, "autocommit": True}


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
    """Open a connection, in one attempt; any failure becomes one ConnectFailed (a
    DatabaseUnavailable) line naming the target. Why a server refused it (its SQLSTATE) is
    asked only where the start-up checks classify the failure (ask_refusal)."""
    started = time.monotonic()
    try:
        return psycopg.connect(
            dsn, autocommit=autocommit, connect_timeout=timeout, **CONNECT_KWARGS
        )
    except psycopg.Error as exc:
        raise ConnectFailed(
            f"cannot connect to {describe(dsn)}: {one_line(exc)}{role_hint(dsn)}",
            dsn=dsn,
            timeout=timeout,
            # An attempt that took the whole timeout met no server: nothing to ask it.
            answered=time.monotonic() - started < timeout,
        ) from exc


# A role the DSN's options set for the session (`options=-c role=hookline_owner`, as
# docs/security.md deploys): `-c role=NAME`, `-crole=NAME` or `--role=NAME`.
_ROLE_OPTION = re.compile(r"(?:^|\s)(?:-c\s*|--)role=(\S+)")


def role_hint(dsn: str) -> str:
    """What to add to a failed connect's line when the DSN's options, or PGOPTIONS when the
    DSN has none (libpq reads it then), set a role: the server refuses the connection when
    that role does not exist or the login role is not a member ("role ... does not exist",
    "invalid value for parameter "role"", "permission denied to set role", by version), which
    names neither the option nor the DBA's statements that make and grant it; empty
    otherwise."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return ""
    if "options" in info:
        where, options = "the DSN's options set", str(info["options"] or "")
    else:
        where, options = "PGOPTIONS sets", os.environ.get("PGOPTIONS", "")
    found = _ROLE_OPTION.search(options)
    if found is None:
        return ""
    user = info.get("user") or os.environ.get("PGUSER") or "the login role"
    return (
        f" ({where} role {found[1]}: if it does not exist or {user} is not a "
        f"member of it, a DBA creates it and grants it to {user}, as docs/security.md says, "
        '"Granting roles to people and services (DBA)")'
    )


def ask_refusal(exc: ConnectFailed) -> None:
    """Set the SQLSTATE of the server's refusal on a failed connect (refusal_sqlstate: one more
    connection attempt), when the server answered and it is not known yet. For the start-up
    checks (hookline.resilience.at_start), which wait out 53300 and 57P03 and fail at once on
    28P01 or 3D000; other callers make one attempt (a one-shot command fails with its line, a
    running runner retries every failed reconnect, docs/resilience.md)."""
    if exc.sqlstate is None and exc.answered and exc.dsn is not None:
        exc.sqlstate = refusal_sqlstate(exc.dsn, exc.timeout)


# What refusal_sqlstate answers when its own try is accepted: 08004 (the server rejected the
# establishment of the connection), class 08, which errors.is_transient retries.
REFUSED_THEN_ACCEPTED = "08004"

# libpq's PQERRORS_SQLSTATE: an error message says its severity and SQLSTATE only.
_ERRORS_SQLSTATE = 3
_SQLSTATE_LINE = re.compile(r":  ([0-9A-Z]{5})$", re.MULTILINE)


@functools.cache
def _libpq_set_error_verbosity() -> Callable[[int, int], int] | None:
    """libpq's PQsetErrorVerbosity, from the libpq psycopg uses (psycopg does not wrap it), or
    None when that library cannot be told for sure: it must be the one already loaded
    (RTLD_NOLOAD), and the only libpq of the process. Found once per process (a library
    loaded stays loaded), not on every failed connect."""
    if pq.__impl__ == "python":
        from psycopg.pq import _pq_ctypes

        lib = _pq_ctypes.pq
    else:
        try:
            with open("/proc/self/maps", encoding="utf-8") as maps:
                loaded = {line.split()[-1] for line in maps if _LIBPQ.search(line)}
        except OSError:
            return None
        if len(loaded) != 1:
            return None
        try:
            lib = ctypes.CDLL(loaded.pop(), mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            return None
    function = lib.PQsetErrorVerbosity
    function.argtypes, function.restype = [ctypes.c_void_p, ctypes.c_int], ctypes.c_int
    return function


_LIBPQ = re.compile(r"/libpq[^/]*\.so[.\d]*$")


def refusal_sqlstate(dsn: str, timeout: float = 10) -> str | None:
    """The SQLSTATE with which the server refuses a connection to `dsn` now (53300 when every
    slot is taken, 57P03 while it starts, 28P01, 3D000 ...), REFUSED_THEN_ACCEPTED when it takes
    this one, or None: it did not answer, or libpq cannot be asked. libpq keeps the SQLSTATE of a refused connection
    to itself, so psycopg's error has none; told to write error messages in its SQLSTATE
    verbosity, it writes it where the message was. One more connection attempt."""
    set_verbosity = _libpq_set_error_verbosity()
    if set_verbosity is None:
        return None
    try:
        conninfo = psycopg.conninfo.make_conninfo(dsn, connect_timeout=int(timeout))
    except psycopg.ProgrammingError:
        return None
    pgconn = pq.PGconn.connect_start(conninfo.encode())
    try:
        set_verbosity(pgconn.pgconn_ptr, _ERRORS_SQLSTATE)
        deadline = time.monotonic() + timeout
        while (status := pgconn.connect_poll()) not in (
            pq.PollingStatus.OK,
            pq.PollingStatus.FAILED,
        ):
            left = deadline - time.monotonic()
            waits = (
                ([pgconn.socket], [])
                if status == pq.PollingStatus.READING
                else ([], [pgconn.socket])
            )
            if left <= 0 or select.select(*waits, [], left) == ([], [], []):
                return None  # no answer in time
        if status == pq.PollingStatus.OK:
            # The server takes the connection now: the refusal was of the moment (a slot freed
            # between the two tries), never credentials or a database that do not exist.
            return REFUSED_THEN_ACCEPTED
        found = _SQLSTATE_LINE.findall(pgconn.error_message.decode("utf-8", "replace"))
        return found[-1] if found else None
    except psycopg.Error:
        return None
    finally:
        pgconn.finish()


# How long `hookline runner` and `hookline ingress` wait at their start, by default, for a
# database that does not answer (--database-wait; docs/resilience.md, "Starting while the
# database is down"). The wait itself is hookline.resilience.at_start.
START_WAIT_S = 60.0
START_WAIT_VARIABLE = "HOOKLINE_DATABASE_WAIT"


def server_answers(dsn: str, timeout: int = 10) -> bool:
    """Whether a server answers at the DSN's address and would take connections (libpq's
    PQping: it answers OK even when it refuses these credentials or this database), or the DSN
    cannot be used at all; false while nothing answers or the server is starting or shutting
    down."""
    try:
        conninfo = psycopg.conninfo.make_conninfo(dsn, connect_timeout=timeout)
    except psycopg.ProgrammingError:
        return True
    return pq.Ping(pq.PGconn.ping(conninfo.encode())) in (pq.Ping.OK, pq.Ping.NO_ATTEMPT)


def through_pooler(conn: psycopg.Connection | psycopg.AsyncConnection, server_pid: int) -> bool:
    """Whether a pooler sits between client and server: PgBouncer (any mode) answers the
    startup with its own backend key, so the pid the client was told is not the server's
    pg_backend_pid(). A plain TCP proxy passes the key through and is not a pooler."""
    return conn.info.backend_pid != server_pid


def check_runner_dsns(dsn: str, listen_dsn: str | None, probe_s: float = 3.0) -> None:
    """Refuse, in one line, what a runner cannot work with: a read-only replica (a runner claims
    and records, and notifications are sent on the primary), or a listen DSN on which LISTEN
    would hear nothing: a transaction pooler hands the session that ran LISTEN to other clients
    after each transaction. A direct connection passes without a probe; behind a pooler, a
    notification sent from a second connection must arrive (a session-mode pool passes it)."""
    checks = [(dsn, "--dsn"), (listen_dsn, "--listen-dsn")] if listen_dsn else [(dsn, "--dsn")]
    for target, option in checks:
        with connect(target, autocommit=True) as conn:
            server_pid, standby = conn.execute(queries.SESSION_FACTS).fetchone()
            if standby:
                raise ReadOnlyDatabase(
                    f"{option} {describe(target)} is a read-only replica: a runner needs the "
                    "primary (it claims and records deliveries; notifications are sent there)"
                )
            if target != (listen_dsn or dsn) or not through_pooler(conn, server_pid):
                continue
            token = secrets.token_hex(8)
            conn.execute(queries.LISTEN_PROBE)
            with connect(target, autocommit=True) as other:
                other.execute(queries.NOTIFY_PROBE, {"token": token})
            if any(note.payload == token for note in conn.notifies(timeout=probe_s)):
                continue
        raise HooklineError(
            f"{option} {describe(target)} goes through a transaction-pooling proxy (PgBouncer "
            "pool_mode=transaction?): LISTEN needs a session connection; point "
            f"--listen-dsn ({LISTEN_DSN_VARIABLE}) at PostgreSQL itself or at a session-mode pool"
        )
