"""Database calls that survive a restart: the one retry helper and the connection pools.

`retrying` runs a call on a pooled connection and retries the errors `errors.is_transient`
names (a lost connection, a deadlock, a statement timeout, too many connections ...) with a
short, capped, jittered backoff, until it succeeds, the caller's deadline passes or the caller
stops; any other error is raised at once. The ingress, the runners and the job scheduler all
go through it, so each SQLSTATE is retried the same way everywhere. `at_start` is the same rule
(`next_retry`) for the synchronous checks a runner or an ingress makes before it starts.

`Pool` is psycopg_pool's pool with a reconnect policy for restarts: while the database is
down it tries a new connection every RECONNECT_S (psycopg_pool's default doubles the delay up
to minutes), so the first call after the database accepts connections gets one within about
RECONNECT_S. It logs "database unreachable" once and "reconnected after N s" when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from hookline.db import POOL_KWARGS, ask_refusal, describe, role_hint, server_answers
from hookline.errors import (
    ConnectFailed,
    DatabaseUnavailable,
    is_connection_error,
    is_transient,
    one_line,
)

T = TypeVar("T")
log = logging.getLogger("hookline.db")

RECONNECT_S = 0.25  # longest wait between connection attempts while the database is down
FIRST_RETRY_S = 0.02  # first wait after a transient error (a deadlock clears at once)
MAX_RETRY_S = 0.5  # the cap of the backoff between retries of one call
CONNECT_TIMEOUT_S = 5  # libpq connect_timeout: an address that does not answer


class Backoff:
    """Exponential backoff with full jitter, capped: FIRST_RETRY_S, x2 ... MAX_RETRY_S."""

    def __init__(self, first: float = FIRST_RETRY_S, cap: float = MAX_RETRY_S) -> None:
        self.first, self.cap = first, cap
        self.attempts = 0

    def next(self) -> float:
        self.attempts += 1
        ceiling = min(self.cap, self.first * 2 ** (self.attempts - 1))
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0


def next_retry(exc: BaseException, backoff: Backoff, deadline: float | None) -> float | None:
    """The one rule of retrying: the delay before trying `exc`'s call again, or None when it
    must be raised now (not transient, or the next try would start after `deadline`)."""
    if not is_transient(exc):
        return None
    delay = backoff.next()
    if deadline is not None and time.monotonic() + delay >= deadline:
        return None
    return delay


# While the database stays unreachable, an error line after this long, then every
# OUTAGE_REPEAT_S: a restart is over in seconds; an outage that lasts is an operator's to see,
# a refused connection (a changed password, a dropped role) as much as a server that is down.
OUTAGE_ERROR_S = 10.0
OUTAGE_REPEAT_S = 60.0


class Outage:
    """When the database was found unreachable; says so once (a warning), as an error when it
    lasts OUTAGE_ERROR_S and every OUTAGE_REPEAT_S after, and once when it is back. Every
    failed reconnect is retried, whatever the server answered (docs/resilience.md)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.since: float | None = None
        self.said_at = 0.0

    def lost(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = self.said_at = now
            log.warning("%s: database unreachable: %s", self.name, one_line(exc))
        elif now - self.said_at >= (OUTAGE_ERROR_S if self.said_at == self.since else OUTAGE_REPEAT_S):  # fmt: skip
            self.said_at = now
            log.error(
                "%s: database unreachable for %.0f s, still retrying: %s",
                self.name, now - self.since, one_line(exc),
            )  # fmt: skip

    def back(self) -> None:
        if self.since is not None:
            log.info("%s: reconnected after %.2f s", self.name, time.monotonic() - self.since)
            self.since = None


class Pool(AsyncConnectionPool):
    """An AsyncConnectionPool that retries connections every RECONNECT_S while the database
    is down, and logs the outage (see the module's docstring)."""

    def __init__(
        self,
        dsn: str,
        *,
        name: str,
        max_size: int,
        timeout: float,
        configure: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]] | None = None,
        connect_timeout: int = CONNECT_TIMEOUT_S,
    ) -> None:
        self.outage = Outage(name)
        self._configure_more = configure
        # The last failed connection attempt's error: psycopg_pool logs each one on its own
        # logger and calls reconnect_failed without it, so the outage line would carry no
        # reason (a refused password, a missing role) without this.
        self.connect_error: psycopg.Error | None = None
        pool = self

        class Connection(psycopg.AsyncConnection[Any]):
            @classmethod
            async def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await super().connect(*args, **kwargs)
                except psycopg.Error as exc:
                    pool.connect_error = exc
                    raise

        self.role_hint = role_hint(dsn)
        super().__init__(
            dsn,
            connection_class=Connection,
            min_size=1,
            max_size=max_size,
            open=False,
            name=name,
            timeout=timeout,
            kwargs={**POOL_KWARGS, "connect_timeout": connect_timeout},
            configure=self._on_connect,
            # A connection attempt fails after RECONNECT_S of retries; reconnect_failed (below)
            # starts the next one at once, so attempts never space out beyond RECONNECT_S.
            reconnect_timeout=RECONNECT_S,
        )

    async def _on_connect(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._configure_more is not None:
            await self._configure_more(conn)
        self.outage.back()

    async def reconnect_failed(self) -> None:
        """psycopg_pool gave up one connection attempt: note the outage and start another
        (check() grows the pool again; it discards the idle connections that are broken)."""
        error = self.connect_error or psycopg.OperationalError("no connection could be made")
        self.outage.lost(psycopg.OperationalError(f"{one_line(error)}{self.role_hint}"))
        if not self.closed:
            await self.check()

    async def lost(self, exc: BaseException) -> None:
        """A call met a connection error: the idle connections are likely broken too (a
        restart ends them all); check them now rather than one failed call at a time."""
        self.outage.lost(exc)
        if not self.closed:
            await self.check()


async def retrying(
    pool: Pool,
    call: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]],
    *,
    what: str,
    deadline: float | None = None,
    stop: asyncio.Event | None = None,
) -> T:
    """`await call(conn)` on a pooled connection; transient errors are retried with a capped
    backoff until `deadline` (time.monotonic()) passes or `stop` is set, then the last one is
    raised. Any other error is raised at once. `call` must be safe to repeat: the hookline
    functions are (a repeated complete records a stale attempt, a repeated receive is a
    duplicate)."""
    backoff = Backoff()
    while True:
        try:
            async with pool.connection() as conn:
                return await call(conn)
        except psycopg.Error as exc:
            delay = next_retry(exc, backoff, deadline)
            lost = is_connection_error(exc)  # (a transient error)
            if lost:  # said once per outage by the pool, not by every call
                await pool.lost(exc)
            if delay is None or (stop is not None and stop.is_set()):
                raise
            if backoff.attempts & (backoff.attempts - 1) == 0:  # 1st, 2nd, 4th, 8th ... retry
                log.log(
                    logging.DEBUG if lost else logging.WARNING,
                    "%s failed (%s): %s; retry %d in %.2f s",
                    what, exc.sqlstate or "connection", one_line(exc), backoff.attempts, delay,
                )  # fmt: skip
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)


def refused_at_connect(exc: BaseException, cause: psycopg.Error) -> bool:
    """Whether a start-up check failed while connecting, with no SQLSTATE known: what a server
    that answers does when it refuses the credentials or the database (at_start asks libpq's
    ping whether it answers), when the server could not be asked for the refusal's SQLSTATE
    (hookline.db.refusal_sqlstate). A statement's error without a SQLSTATE is a lost
    connection."""
    return isinstance(exc, ConnectFailed) and exc.sqlstate is None and cause.sqlstate is None


def at_start(checks: Callable[[], T], dsns: list[str], wait_s: float) -> T:
    """`checks()`, a long-running command's checks at its start (schema, replica, pooler),
    retried by `next_retry` for up to wait_s seconds (--database-wait): while the database is
    down, starting or shutting down, or answers with an error that asking again may cure (a
    statement timeout, a lock timeout, too many connections ...). A supervisor that restarts
    the process during a database restart (or starts it before the database) would otherwise
    see it exit at once, again and again, and may give up on it. One line on stderr when it
    starts waiting, one when the checks pass; after wait_s, the last error is raised (exit
    status 1, as with --database-wait 0). A connection refused by a server that answers (a
    wrong password, an unknown database or role: libpq's ping tells it from a server that is
    down, starting or shutting down) is raised at once: waiting would not mend it. Only a
    failure to connect can be such a refusal (libpq gives its SQLSTATE, 28P01, 3D000, 28000,
    to no one: psycopg's error has none): a connection that was made and then lost without a
    SQLSTATE (the server restarted, or a pooler or proxy dropped it, between the connect and
    a check's query) is waited for like a server that is down, even when the server answers
    again by then."""
    started = time.monotonic()
    backoff = Backoff(cap=RECONNECT_S)  # after a restart, a try every RECONNECT_S at most
    waiting = False
    while True:
        try:
            result = checks()
        except (DatabaseUnavailable, psycopg.Error) as exc:
            cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
            if not isinstance(cause, psycopg.Error):
                raise
            # A failed connection is classified by its refusal's SQLSTATE, asked here only.
            if isinstance(exc, ConnectFailed):
                ask_refusal(exc)
            delay = next_retry(exc if isinstance(exc, ConnectFailed) else cause, backoff,
                               started + wait_s)  # fmt: skip
            if delay is None or (refused_at_connect(exc, cause) and all(map(server_answers, dsns))):
                raise
            if not waiting:
                failed = str(exc) if isinstance(exc, DatabaseUnavailable) else (
                    f"{describe(dsns[0])}: the start-up checks failed "
                    f"({cause.sqlstate or 'connection'}): {one_line(cause)}"
                )  # fmt: skip
                print(f"hookline: {failed}; waiting up to {wait_s:g} s for it",
                      file=sys.stderr, flush=True)  # fmt: skip
                waiting = True
            time.sleep(delay)
            continue
        if waiting:
            print(f"hookline: {describe(dsns[0])} answered after {time.monotonic() - started:.2f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
        return result
