"""`hookline runner`: claims due deliveries, POSTs them, records the outcomes.

It decides nothing about a delivery's life: claim, complete and release are SQL functions that
own leases, retries and the dead-letter queue. This module moves bytes: it signs each body with
the Standard Webhooks scheme, sends it with a keep-alive HTTP client, and reports what came
back (a status, or the class of error) in batches.

Wake-ups: a LISTEN connection outside the pool (ingest, replay, resume and release notify),
the time of the earliest due retry or lease expiry (asked from SQL), and a slow poll as a
safety net, so a lost notification strands nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import psycopg
import uvloop
from psycopg.types.json import Jsonb
from standardwebhooks.webhooks import Webhook

from hookline import logs, queries, telemetry
from hookline.errors import is_transient, one_line
from hookline.masking import Masker
from hookline.metrics import RUNNER, serve_metrics
from hookline.netguard import DEFAULT_ALLOWED, AddressRefused, Guard, guarded_connector
from hookline.resilience import CONNECT_TIMEOUT_S, RECONNECT_S, Backoff, Outage, Pool, retrying
from hookline.scheduler import run_scheduler
from hookline.sealing import opener

log = logging.getLogger("hookline.runner")
MASK = Masker()  # the SQL masking rules, read by every new pool connection; applied to every line

EXCERPT_BYTES = 500
# Floor of the sleep after an empty claim while work is due: the endpoint is at max_in_flight,
# its breaker admits no more probes, or another runner's claim took the rows.
MIN_WAIT_S = 0.05
MAX_BACKOFF_S = 10.0  # a claim the database refuses (not a transient error) is retried this slowly
COMPLETE_LINGER_S = 0.002  # how long results wait for company while requests are running
# How long a claim for less than half a batch waits for more room (the claim loop is woken
# when half a batch of room is free): a claim costs the database about as much for 1 row as
# for 32.
CLAIM_LINGER_S = 0.003
# A claimed delivery waiting for a free slot is sent only while its lease still covers its
# timeout and this margin; otherwise it is given back unsent (hookline.release).
LEASE_MARGIN_S = 0.5
# After a stop's grace period: how long results and releases may wait for the database.
FLUSH_S = 10.0
# A side task (completer, listener) that dies is restarted; one that dies this many times in
# a row, each within RESTART_WINDOW_S of its start, stops the process with exit status 1.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 30.0
# The cyclic garbage collector's first threshold while the runner runs (Python's default: 700
# allocations). Each request allocates about a hundred objects that live until its answer, so
# with 32 requests in flight the default ran a collection every ~17 deliveries, promoted the
# requests in flight to the older generations, and ran a full collection (every object of the
# process, ~55,000 after start-up) every ~2,000: 10-20 % of the runner's CPU. Objects made at
# start-up are frozen out of every collection (gc.freeze) and the threshold is raised so a
# burst of requests does not start one.
GC_THRESHOLD = 20_000


def describe_error(exc: BaseException) -> str:
    """What went wrong with a request, for the attempt log (never the payload)."""
    return f"{type(exc).__name__}: {exc}"[:EXCERPT_BYTES]


# A request whose connection is not made within this share of the endpoint's timeout is error
# class `connect` (nothing was sent); the whole request is bounded by the timeout.
CONNECT_SHARE = 0.9


def failure(exc: Exception) -> dict[str, Any]:
    """The one classification of a request that got no answer, for both runners: `refused`
    (the address guard; nothing sent), `connect` (no connection, connect timeout included;
    nothing sent), `timeout` (sent, no answer in time) or `network` (reset, broken answer)."""
    if isinstance(exc, AddressRefused):
        return {"error_class": "refused", "response_excerpt": str(exc)[:EXCERPT_BYTES]}
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return {"error_class": "connect", "response_excerpt": describe_error(exc)}
    if isinstance(exc, TimeoutError):
        return {"error_class": "timeout"}
    return {"error_class": "network", "response_excerpt": describe_error(exc)}


@functools.cache
def request_timeout(timeout_ms: int) -> aiohttp.ClientTimeout:
    """aiohttp's part of an endpoint's timeout: the connect share, never rounded up to whole
    seconds (ceil_threshold); the caller bounds the whole request with asyncio.timeout."""
    return aiohttp.ClientTimeout(
        total=None, connect=timeout_ms / 1000 * CONNECT_SHARE, ceil_threshold=float("inf")
    )


async def read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to `limit` bytes of the answer's body (the rest is never read: the connection is
    then closed rather than reused)."""
    data = await resp.content.read(limit)
    while len(data) < limit and not resp.content.at_eof():  # (a short answer is read at once)
        if not (chunk := await resp.content.read(limit - len(data))):
            break
        data += chunk
    return data


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Settings:
    dsn: str
    name: str
    concurrency: int = 32
    batch: int = 32
    lease_s: float = 30.0
    poll_s: float = 5.0
    grace_s: float = 10.0
    graph_url: str = "https://graph.facebook.com"
    graph_version: str = "v25.0"
    allowed_networks: tuple[str, ...] = DEFAULT_ALLOWED
    listen_dsn: str | None = None  # a session connection for LISTEN; default: dsn
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: no metrics endpoint
    log_format: str = "human"


@dataclass
class Stats:
    """Counters of one runner, for its own log lines and its tests (the dropped results are
    counted in hookline.metrics)."""

    recorded: int = 0  # results the database recorded
    restarts: dict[str, int] = field(default_factory=dict)  # side task -> restarts


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds; SQL applies the bounds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@functools.lru_cache(maxsize=256)
def signer(secret: str) -> Webhook:
    """The Standard Webhooks signer of a stored secret (opened when sealed, and decoded, once
    per secret, not per request)."""
    return Webhook(opener()(secret))


def signed_headers(secrets: str, webhook_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers; while an endpoint's secret rotates, claim gives two secrets
    (space-separated, sealed as stored) and each signs: webhook-signature holds both."""
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(
            signer(s).sign(webhook_id, now, body) for s in secrets.split()
        ),
    }


class Runner:
    """Delivers events to endpoints; `hookline.outbound.OutboundRunner` sends the outbox with
    the same loop, through the names below.

    Tasks: the claim loop (starts one task per request), the completer (the only reader and
    writer of `results` besides the requests appending to it; it records them in batches),
    the listener (LISTEN for wake-ups) and, in one runner per process, the job scheduler. The
    completer and the listener are supervised: while one is down no claims are made; a dead
    one is restarted, and one that keeps dying stops the process with exit status 1."""

    WHAT = "deliveries"
    ID = "delivery_id"
    CLAIM = queries.CLAIM
    COMPLETE = queries.COMPLETE
    RELEASE = queries.RELEASE
    NEXT_DUE = queries.SECONDS_TO_NEXT_DUE
    LISTEN = queries.LISTEN_DELIVERIES
    RUNS_JOBS = True  # one scheduler per process is enough
    TIMEOUT_MS = 4  # the claimed row's timeout_ms column
    # The claimed row's column saying within how many ms of its claim the request must start
    # (None: no such rule; the outbox's send margin, OutboundRunner).
    SEND_WITHIN_MS: int | None = None
    # Claim ahead: hold this many batches of claimed deliveries more than `concurrency`,
    # waiting for a slot, so a slot that frees starts its next request at once instead of
    # after a claim's round trip (claims and completes overlap the requests). With one batch,
    # a slot found nothing waiting for it on about a third of the answers at concurrency 8
    # (a claim's round trip is longer than the batch lasts on a busy machine); with two, on
    # about a sixth. Not for the outbox: its rate limits count claims (OutboundRunner).
    AHEAD = 2

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.stopping = asyncio.Event()
        self.closing = asyncio.Event()  # no more results will come: the completer ends when empty
        self.give_up = asyncio.Event()  # a stop's FLUSH_S passed: stop retrying the database
        self.wake = asyncio.Event()
        self.results: list[dict[str, Any]] = []
        self.results_ready = asyncio.Event()
        # task -> its lease: every claimed row not yet answered (sending or waiting for a slot)
        self.active: dict[asyncio.Task[None], dict[str, Any]] = {}
        self.waiting: set[asyncio.Task[None]] = set()  # of those, the ones without a slot yet
        self.slots = asyncio.Semaphore(settings.concurrency)  # requests in flight
        self.unsent: list[dict[str, Any]] = []  # leases given up before sending: to release
        self.hold = settings.concurrency + self.AHEAD * settings.batch  # leases held, at most
        self.backlog = False  # the last claim came back full: more is due than was claimed
        self.answered = False  # a request ended since the last claim was sent
        self.down: set[str] = set()  # side tasks not running at the moment
        self.failed = False  # a side task kept dying: the process exits with status 1
        self.stats = Stats()
        self.stop_process: Callable[[], None] = self.stop
        self.claim_at = max(1, min(settings.batch, self.hold) // 2)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    # -- the main loop ---------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        """Endpoint URLs come from tenants: every address is checked at connect (netguard)."""
        connector = guarded_connector(Guard(self.s.allowed_networks), self.s.concurrency)
        # No cookie jar: a cookie one endpoint sets must never travel to another.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        MASK.use(await (await conn.execute(queries.MASKING_RULES)).fetchall())

    async def run(self) -> None:
        pool = Pool(self.s.dsn, name=f"{self.WHAT} runner", max_size=4, timeout=5,
                    configure=self._configure)  # fmt: skip
        async with pool, self._client() as http:
            listener = self._supervise("listener", self._listen)
            completer = self._supervise("completer", lambda: self._complete_loop(pool))
            side = [listener]
            if self.RUNS_JOBS:  # the jobs that no pg_cron runs (runs_in = 'runner'); scheduler.py
                side.append(asyncio.create_task(
                    run_scheduler(pool, self.s.name, self.stopping, log.info)
                ))  # fmt: skip
                side[-1].add_done_callback(self._scheduler_ended)
            try:
                await self._claim_loop(pool, http)
            finally:
                await self._drain(pool, completer)
                for task in side:
                    task.cancel()
                await asyncio.gather(*side, return_exceptions=True)
        log.info(
            "runner %s stopped; the results of %d %s recorded",
            self.s.name,
            self.stats.recorded,
            self.WHAT,
        )

    async def _claim(self, conn: psycopg.AsyncConnection[Any], max_rows: int) -> tuple[list[Any], float | None, float]:  # fmt: skip
        """The claimed rows, the seconds to wait when there were none, and the monotonic time
        just before this attempt's claim was sent (a pool's wait for a connection and a failed
        attempt before it are not part of it): earlier than the database's `now` of the claim,
        so leases and send deadlines measured from it end no later than the database's."""
        params = {
            "runner": self.s.name,
            "max_rows": max_rows,
            "lease": timedelta(seconds=self.s.lease_s),
        }
        started = time.time_ns()
        sent = time.monotonic()
        rows = await (await conn.execute(self.CLAIM, params)).fetchall()
        telemetry.batch("claim", self.WHAT, started, len(rows))
        if rows:
            return rows, None, sent
        (wait,) = await (await conn.execute(self.NEXT_DUE)).fetchone()
        return rows, wait, sent

    async def _claim_loop(self, pool: Pool, http: aiohttp.ClientSession) -> None:
        refused = Backoff(first=0.5, cap=MAX_BACKOFF_S)
        while not self.stopping.is_set():
            if self.unsent:  # leases that ran out waiting for a slot
                unsent, self.unsent = self.unsent, []
                await self._release(pool, unsent, "unsent", self.stopping)
            room = self.room()
            if room <= 0 or self.down:  # no claims while the completer or listener is down
                await self._sleep(self.s.poll_s)
                continue
            if room < self.claim_at and self.active:
                room = await self._more_room(room)
            max_rows = min(room, self.claim_size())
            try:
                self.answered = False  # answers while the claim runs free room too
                rows, wait, started = await retrying(
                    pool, lambda conn, n=max_rows: self._claim(conn, n),
                    what=f"claiming {self.WHAT}", stop=self.stopping,
                )  # fmt: skip
            except psycopg.Error as exc:
                if not self.stopping.is_set():
                    delay = refused.next()
                    log.error("claim failed: %s; retrying in %.1f s", one_line(exc), delay)
                    await self._pause(delay)
                continue
            refused.reset()
            self.backlog = len(rows) == max_rows
            RUNNER.claimed_batch(self.WHAT, len(rows))
            for row in rows:
                # The lease SQL gave: `lease`, at least the timeout plus 1 s, from before the
                # claim was sent (so never later than the database's).
                lease_end = started + max(self.s.lease_s, row[self.TIMEOUT_MS] / 1000 + 1)
                # The send deadline SQL gave (the outbox's send margin), from the same start:
                # a row not started by then goes back unsent, never late.
                start_by = (
                    None if self.SEND_WITHIN_MS is None
                    else started + row[self.SEND_WITHIN_MS] / 1000
                )  # fmt: skip
                task = asyncio.create_task(self._send(http, row, lease_end, start_by))
                self.active[task] = {self.ID: row[0], "lease_token": str(row[1])}
                self.waiting.add(task)
                task.add_done_callback(self._finished)
            if len(rows) == max_rows:
                continue  # there may be more
            timeout = self.s.poll_s if wait is None else min(self.s.poll_s, max(wait, MIN_WAIT_S))
            await self._sleep(timeout)

    def claim_size(self) -> int:
        """Rows to ask for at most: --batch; during a backlog, up to --concurrency when that is
        larger. Claims are made one after another, each a round trip that costs about as much
        for 128 rows as for 32, so with batches of 32 a runner at concurrency 128 could not
        claim as fast as it sends (a claim took 5-10 ms on a busy machine: at most ~4k rows a
        second, with three quarters of the slots empty). Not for the outbox (AHEAD = 0: its
        claims count against rate limits)."""
        if self.AHEAD and self.backlog:
            return max(self.s.batch, self.s.concurrency)
        return self.s.batch

    def room(self) -> int:
        """How many more leases to take: the free slots; while claims come back full (a
        backlog) and requests keep ending, AHEAD batches more, waiting for a slot. Not before
        an answer since the last claim was sent (answers during its round trip count: at
        concurrency = batch, waiting for one after it left every slot empty while the next
        claim ran) nor after a claim that took what was due:
        then other runners, woken by the same notification, get the rest, as without claiming
        ahead."""
        limit = self.hold if self.backlog and self.answered else self.s.concurrency
        return limit - len(self.active)

    async def _more_room(self, room: int) -> int:
        """Wait until half a batch of room is free, but at most CLAIM_LINGER_S; the room."""
        deadline = time.monotonic() + CLAIM_LINGER_S
        while room < self.claim_at and not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self._sleep(left)  # _finished wakes it when half a batch is free
            room = self.room()
        return room

    def _scheduler_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("job scheduler failed: %r; jobs are not run by this runner", task.exception())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.active.pop(task, None)
        self.waiting.discard(task)
        first, self.answered = not self.answered, True
        # What the claim loop waits for (not every answer): a free slot, half a batch of room,
        # or the first answer after a claim during a backlog (room to claim ahead).
        if self.room() in (1, self.claim_at) or (first and self.backlog):
            self.wake.set()

    async def _sleep(self, timeout: float) -> None:
        """Until a notification, a free slot, stop, or the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout)
        self.wake.clear()

    async def _pause(self, timeout: float) -> None:
        """Until stop or the timeout (notifications do not shorten it)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout)

    # -- supervision -----------------------------------------------------------------------

    def _supervise(self, name: str, body: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run body until it returns; restart it when it dies (no claims meanwhile); after
        MAX_RESTARTS quick deaths in a row stop the process, which then exits with status 1."""

        async def supervisor() -> None:
            deaths = 0
            while True:
                started = time.monotonic()
                self.down.discard(name)
                try:
                    await body()
                    return
                except Exception:
                    self.down.add(name)
                    log.exception("runner %s: the %s died", self.s.name, name)
                deaths = deaths + 1 if time.monotonic() - started < RESTART_WINDOW_S else 1
                if deaths >= MAX_RESTARTS:
                    log.critical(
                        "runner %s: the %s died %d times in a row; stopping (exit status 1)",
                        self.s.name, name, deaths,
                    )  # fmt: skip
                    self.failed = True
                    self.stop_process()
                # A dead completer's results still wait: it is restarted until a stop gives up.
                if self.failed and (name != "completer" or self.give_up.is_set()):
                    return
                self.stats.restarts[name] = self.stats.restarts.get(name, 0) + 1
                await asyncio.sleep(min(RECONNECT_S * 2**deaths, 5.0))
                log.warning("runner %s: restarting the %s", self.s.name, name)

        return asyncio.create_task(supervisor())

    # -- one HTTP request ------------------------------------------------------------------

    async def _send(self, http: aiohttp.ClientSession, row: tuple[Any, ...], lease_end: float, start_by: float | None = None) -> None:  # fmt: skip
        """Wait for a slot, then deliver the row, unless its lease would end before the
        request's timeout, or its send deadline (start_by, the outbox's) has passed: then it goes
        back unsent (released by the claim loop). The rule behind the deadline is SQL's
        (claim_messages counts a number's claims over 1 s plus the margin it returns); this only
        compares clocks."""
        async with self.slots:
            task = asyncio.current_task()
            self.waiting.discard(task)  # type: ignore[arg-type]
            now = time.monotonic()
            if (start_by is not None and now > start_by) or (
                now + row[self.TIMEOUT_MS] / 1000 + LEASE_MARGIN_S > lease_end
            ):
                self.unsent.append(self.active[task])  # type: ignore[index]
                self.wake.set()
                return
            await self._deliver(http, row)

    async def _deliver(self, http: aiohttp.ClientSession, row: tuple[Any, ...]) -> None:
        delivery_id, lease_token, webhook_id, url, timeout_ms, secret, body, attempt, parent, endpoint_id, received_at = row  # fmt: skip
        result: dict[str, Any] = {
            "delivery_id": delivery_id, "lease_token": str(lease_token), "runner": self.s.name,
        }  # fmt: skip
        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(timeout_ms / 1000),
                http.post(
                    url, data=body.encode(),
                    headers=signed_headers(secret, webhook_id, body) | telemetry.propagate(parent),
                    allow_redirects=False, timeout=request_timeout(timeout_ms),
                ) as resp,
            ):  # fmt: skip
                excerpt = await read_at_most(resp, EXCERPT_BYTES)
                result["status_code"] = resp.status
                result["retry_after_s"] = retry_after_seconds(resp.headers.get("retry-after"))
                result["response_excerpt"] = excerpt.decode("utf-8", "replace")
        except Exception as exc:  # anything that stops a request is the network's (failure())
            result.update(failure(exc))
        result["duration_ms"] = int((time.monotonic() - started) * 1000)
        telemetry.attempt(self.WHAT, result, parent, attempt, endpoint_id=endpoint_id)
        RUNNER.answered(self.WHAT, result, received_at)
        self.results.append(result)
        self.results_ready.set()

    # -- recording outcomes ----------------------------------------------------------------

    async def _complete_loop(self, pool: Pool) -> None:
        """The one owner of `results`: records them oldest first in batches, each removed only
        once recorded (or refused), until closing and empty."""
        while True:
            if not self.results:
                if self.closing.is_set():
                    return
                self.results_ready.clear()
                await self.results_ready.wait()
                continue
            if len(self.results) < self.s.batch and self.active and not self.closing.is_set():
                # More answers are on their way: one complete for several costs less.
                await asyncio.sleep(COMPLETE_LINGER_S)
            batch = self.results[: max(self.s.batch, 1) * 4]
            await self._record(pool, batch)
            del self.results[: len(batch)]
            self.wake.set()

    async def _complete(self, conn: psycopg.AsyncConnection[Any], batch: list[dict[str, Any]]) -> None:  # fmt: skip
        started = time.time_ns()
        cur = await conn.execute(self.COMPLETE, {"results": Jsonb(batch)})
        RUNNER.completed(self.WHAT, self.ID, batch, await cur.fetchall())
        telemetry.batch("complete", self.WHAT, started, len(batch))

    async def _record(self, pool: Pool, batch: list[dict[str, Any]]) -> None:
        """Record a batch. Transient errors are retried (until a stop gives up); a batch the
        database refuses is split in halves until the refused result is found, which alone is
        dropped, with a log line (its delivery is sent again after the lease)."""
        try:
            await retrying(
                pool, lambda conn: self._complete(conn, batch),
                what=f"recording {len(batch)} {self.WHAT} results", stop=self.give_up,
            )  # fmt: skip
        except psycopg.Error as exc:
            if is_transient(exc):  # only after a stop gave up
                RUNNER.results_dropped(self.WHAT, "unreachable", len(batch))
                log.error(
                    "runner %s: %d %s results not recorded, the database is unreachable (%s); "
                    "they are sent again after their leases", self.s.name, len(batch), self.WHAT,
                    one_line(exc),
                )  # fmt: skip
            elif len(batch) > 1:
                half = len(batch) // 2
                await self._record(pool, batch[:half])
                await self._record(pool, batch[half:])
            else:
                RUNNER.results_dropped(self.WHAT, "refused", 1)
                log.error(
                    "runner %s: the database refused the result for %s %s (%s: %s); dropped, "
                    "it is sent again after its lease", self.s.name, self.ID, batch[0][self.ID],
                    exc.sqlstate, one_line(exc),
                )  # fmt: skip
            return
        self.stats.recorded += len(batch)

    # -- stopping --------------------------------------------------------------------------

    async def _drain(self, pool: Pool, completer: asyncio.Task[None]) -> None:
        """After stop: give back at once what waits for a slot, let requests finish within the
        grace period, give back the rest, and let the completer record every result (it alone
        writes them) before returning."""
        waiting = list(self.waiting)  # claimed ahead, not sent: released while requests run
        unsent = [self.active[t] for t in waiting] + self.unsent
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        releasing = asyncio.create_task(self._release(pool, unsent, "unsent", self.give_up))
        leases = []
        if self.active:
            log.info(
                "stopping: waiting up to %gs for %d requests", self.s.grace_s, len(self.active)
            )
            _done, pending = await asyncio.wait(list(self.active), timeout=self.s.grace_s)
            leases = [self.active[t] for t in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        asyncio.get_running_loop().call_later(FLUSH_S, self.give_up.set)
        self.closing.set()
        self.results_ready.set()
        await completer
        await releasing
        await self._release(pool, leases, "unfinished", self.give_up)

    async def _release(self, pool: Pool, leases: list[dict[str, Any]], which: str, stop: asyncio.Event) -> None:  # fmt: skip
        """Give back leases of rows not sent, or abandoned at the end of a stop's grace period
        (hookline.release: due again at once, no attempt counted); those the database does not
        take back expire."""
        if not leases:
            return
        RUNNER.leases_given_back(self.WHAT, which, len(leases))
        try:
            await retrying(
                pool, lambda conn: conn.execute(self.RELEASE, {"runner": self.s.name, "leases": Jsonb(leases)}),
                what=f"releasing {len(leases)} leases", stop=stop,
            )  # fmt: skip
            log.info("released %d %s %s", len(leases), which, self.WHAT)
        except psycopg.Error as exc:
            log.warning(
                "could not release %d leases (%s); they will expire", len(leases), one_line(exc)
            )

    # -- notifications ---------------------------------------------------------------------

    async def _listen(self) -> None:
        """LISTEN on a connection of its own, reconnecting every RECONNECT_S at most while the
        database is down; an error that is not transient kills it (the supervisor decides)."""
        backoff = Backoff(cap=RECONNECT_S)
        outage = Outage(f"{self.WHAT} listener")
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.s.listen_dsn or self.s.dsn,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                ) as conn:
                    await conn.execute(self.LISTEN)
                    outage.back()
                    backoff.reset()
                    self.wake.set()  # notifications may have been missed while disconnected
                    while True:
                        async for _note in conn.notifies(timeout=self.s.poll_s):
                            self.wake.set()
                            RUNNER.listener_alive(self.WHAT)
                        await conn.execute(queries.KEEPALIVE)
                        RUNNER.listener_alive(self.WHAT)
            except psycopg.Error as exc:
                if not is_transient(exc):
                    raise
                outage.lost(exc)
                await asyncio.sleep(backoff.next())


def run(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; then stop claiming, finish or release, and return. Exit
    status 1 when a side task kept dying."""

    from hookline.outbound import OutboundRunner

    logs.setup(settings.log_format, MASK)

    async def main() -> bool:
        telemetry.setup("hookline-runner")
        both = [Runner(settings), OutboundRunner(settings)]

        def stop_all() -> None:
            for r in both:
                r.stop()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_all)
        for r in both:
            r.stop_process = stop_all
        log.info("runner %s started (concurrency %d)", settings.name, settings.concurrency)
        serve_metrics(RUNNER, settings.metrics_host, settings.metrics_port, log.info, settings.dsn)
        gc.freeze()  # everything made so far (modules, settings) lives as long as the process
        gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
        await asyncio.gather(*(r.run() for r in both))
        return not any(r.failed for r in both)

    if not uvloop.run(main()):  # uvloop: the event loop in C (about half the CPU per request)
        sys.exit(1)
