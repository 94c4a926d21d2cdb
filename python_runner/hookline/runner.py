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
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from standardwebhooks.webhooks import Webhook

from hookline import queries, telemetry
from hookline.db import POOL_KWARGS
from hookline.errors import one_line
from hookline.masking import Masker
from hookline.metrics import RUNNER, serve_metrics
from hookline.netguard import DEFAULT_ALLOWED, AddressRefused, Guard, guarded_transport
from hookline.scheduler import run_scheduler
from hookline.sealing import opener

EXCERPT_BYTES = 500
# Floor of the sleep after an empty claim while work is due: another runner held the endpoint
# (claims skip locked endpoints) or the endpoint is at max_in_flight.
MIN_WAIT_S = 0.05
MAX_BACKOFF_S = 10.0


def is_connection_error(exc: psycopg.Error) -> bool:
    """A lost or refused connection (SQLSTATE class 08 or 57P, or none), not a rejected call."""
    return isinstance(exc, psycopg.OperationalError) and (
        exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))
    )


def describe_error(exc: BaseException) -> str:
    """What went wrong with a request, for the attempt log (never the payload)."""
    return f"{type(exc).__name__}: {exc}"[:EXCERPT_BYTES]


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


def signed_headers(secrets: str, webhook_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers; while an endpoint's secret rotates, claim gives two secrets
    (space-separated, sealed as stored) and each signs: webhook-signature holds both."""
    now = datetime.now(UTC)
    signatures = [Webhook(opener()(s)).sign(webhook_id, now, body) for s in secrets.split()]
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class Runner:
    """Delivers events to endpoints; `hookline.outbound.OutboundRunner` sends the outbox with
    the same loop, through the names below."""

    WHAT = "deliveries"
    ID = "delivery_id"
    CLAIM = queries.CLAIM
    COMPLETE = queries.COMPLETE
    RELEASE = queries.RELEASE
    NEXT_DUE = queries.SECONDS_TO_NEXT_DUE
    LISTEN = queries.LISTEN_DELIVERIES
    RUNS_JOBS = True  # one scheduler per process is enough

    def __init__(self, settings: Settings, say: Callable[[str], None] = print) -> None:
        self.s = settings
        self.mask = Masker()
        self.say = lambda message: say(self.mask(message))
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.results: list[dict[str, Any]] = []
        self.results_ready = asyncio.Event()
        self.active: dict[asyncio.Task[None], dict[str, Any]] = {}  # task -> its lease
        self.delivered = 0

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    # -- the main loop ---------------------------------------------------------------------

    def _client(self, limits: httpx.Limits) -> httpx.AsyncClient:
        """Endpoint URLs come from tenants: every address is checked at connect (netguard)."""
        return httpx.AsyncClient(
            transport=guarded_transport(Guard(self.s.allowed_networks), limits),
            follow_redirects=False,
        )

    async def run(self) -> None:
        limits = httpx.Limits(
            max_connections=self.s.concurrency, max_keepalive_connections=self.s.concurrency
        )
        async with (
            AsyncConnectionPool(
                self.s.dsn,
                min_size=1,
                max_size=4,
                open=False,
                timeout=5,
                kwargs=POOL_KWARGS,
                check=AsyncConnectionPool.check_connection,
            ) as pool,
            self._client(limits) as http,
        ):
            with contextlib.suppress(psycopg.Error):
                async with pool.connection() as conn:
                    self.mask.use(await (await conn.execute(queries.MASKING_RULES)).fetchall())
            listener = asyncio.create_task(self._listen())
            completer = asyncio.create_task(self._complete_loop(pool))
            tasks = [listener, completer]
            if self.RUNS_JOBS:  # the jobs that no pg_cron runs (runs_in = 'runner'); scheduler.py
                scheduler = asyncio.create_task(
                    run_scheduler(pool, self.s.name, self.stopping, self.say)
                )
                scheduler.add_done_callback(self._scheduler_ended)
                tasks.append(scheduler)
            try:
                await self._claim_loop(pool, http)
                await self._drain(pool)
            finally:
                completer.cancel()
                listener.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        self.say(f"runner {self.s.name} stopped; {self.delivered} {self.WHAT} results recorded")

    async def _claim_loop(self, pool: AsyncConnectionPool, http: httpx.AsyncClient) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            free = self.s.concurrency - len(self.active)
            if free <= 0:
                await self._sleep(self.s.poll_s)
                continue
            try:
                async with pool.connection() as conn:
                    params = {
                        "runner": self.s.name,
                        "max_rows": min(free, self.s.batch),
                        "lease": timedelta(seconds=self.s.lease_s),
                    }
                    started = time.time_ns()
                    rows = await (await conn.execute(self.CLAIM, params)).fetchall()
                    telemetry.batch("claim", self.WHAT, started, len(rows))
                    wait = None
                    if not rows:
                        (wait,) = await (await conn.execute(self.NEXT_DUE)).fetchone()
            except psycopg.Error as exc:
                self.say(f"claim failed: {one_line(exc)}; retrying in {backoff:.1f}s")
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 0.5
            RUNNER.claimed_batch(self.WHAT, len(rows))
            for row in rows:
                lease = {self.ID: row[0], "lease_token": str(row[1])}
                task = asyncio.create_task(self._deliver(http, row))
                self.active[task] = lease
                task.add_done_callback(self._finished)
            if len(rows) == min(free, self.s.batch):
                continue  # there may be more
            timeout = self.s.poll_s if wait is None else min(self.s.poll_s, max(wait, MIN_WAIT_S))
            await self._sleep(timeout)

    def _scheduler_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.say(f"job scheduler failed: {task.exception()!r}; jobs are not run by this runner")

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.active.pop(task, None)
        self.wake.set()  # a slot is free

    async def _sleep(self, timeout: float) -> None:
        """Until a notification, a free slot, stop, or the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout)
        self.wake.clear()

    # -- one HTTP request ------------------------------------------------------------------

    async def _deliver(self, http: httpx.AsyncClient, row: tuple[Any, ...]) -> None:
        delivery_id, lease_token, webhook_id, url, timeout_ms, secret, body, attempt, parent, endpoint_id, received_at = row  # fmt: skip
        result: dict[str, Any] = {
            "delivery_id": delivery_id, "lease_token": str(lease_token), "runner": self.s.name,
        }  # fmt: skip
        started = time.monotonic()
        timeout = timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout):
                async with http.stream(
                    "POST", url, content=body.encode(),
                    headers=signed_headers(secret, webhook_id, body) | telemetry.propagate(parent),
                    timeout=timeout,
                ) as resp:  # fmt: skip
                    excerpt = b""
                    async for chunk in resp.aiter_bytes():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT_BYTES:
                            break
                    result["status_code"] = resp.status_code
                    result["retry_after_s"] = retry_after_seconds(resp.headers.get("retry-after"))
                    result["response_excerpt"] = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")
        except AddressRefused as exc:  # permanent: complete sends it to the DLQ with the reason
            result.update(error_class="refused", response_excerpt=str(exc)[:EXCERPT_BYTES])
        except (TimeoutError, httpx.TimeoutException):
            result["error_class"] = "timeout"
        except httpx.ConnectError as exc:
            result.update(error_class="connect", response_excerpt=describe_error(exc))
        except (
            Exception
        ) as exc:  # anything else that stops a request (reset, bad answer) is the network's
            result.update(error_class="network", response_excerpt=describe_error(exc))
        result["duration_ms"] = int((time.monotonic() - started) * 1000)
        telemetry.attempt(self.WHAT, result, parent, attempt, endpoint_id=endpoint_id)
        RUNNER.answered(self.WHAT, result, received_at)
        self.results.append(result)
        self.results_ready.set()

    # -- recording outcomes ----------------------------------------------------------------

    async def _complete_loop(self, pool: AsyncConnectionPool) -> None:
        while True:
            await self.results_ready.wait()
            self.results_ready.clear()
            await self._flush(pool, retry=True)

    async def _flush(self, pool: AsyncConnectionPool, *, retry: bool) -> None:
        """Record the waiting results; while the database is unreachable keep them and retry."""
        backoff = 0.5
        while self.results:
            batch = self.results[: max(self.s.batch, 1) * 4]
            try:
                async with pool.connection() as conn:
                    started = time.time_ns()
                    cur = await conn.execute(self.COMPLETE, {"results": Jsonb(batch)})
                    RUNNER.completed(self.WHAT, self.ID, batch, await cur.fetchall())
                    telemetry.batch("complete", self.WHAT, started, len(batch))
            except psycopg.Error as exc:
                if not retry or not is_connection_error(exc):
                    # Not recorded: the leases expire and the deliveries are tried again.
                    self.say(f"could not record {len(batch)} results: {one_line(exc)}")
                    del self.results[: len(batch)]
                    continue
                self.say(f"database unavailable: {one_line(exc)}; retrying in {backoff:.1f}s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            del self.results[: len(batch)]
            self.delivered += len(batch)
        self.wake.set()

    # -- stopping --------------------------------------------------------------------------

    async def _drain(self, pool: AsyncConnectionPool) -> None:
        """After stop: let requests finish within the grace period, give back the rest."""
        if self.active:
            self.say(f"stopping: waiting up to {self.s.grace_s:g}s for {len(self.active)} requests")
            _done, pending = await asyncio.wait(list(self.active), timeout=self.s.grace_s)
            leases = [self.active[t] for t in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        else:
            leases = []
        await self._flush(pool, retry=False)
        if leases:
            try:
                async with pool.connection() as conn:
                    await conn.execute(
                        self.RELEASE, {"runner": self.s.name, "leases": Jsonb(leases)}
                    )
                self.say(f"released {len(leases)} unfinished {self.WHAT}")
            except psycopg.OperationalError as exc:
                self.say(
                    f"could not release {len(leases)} leases ({one_line(exc)}); they will expire"
                )

    # -- notifications ---------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.s.listen_dsn or self.s.dsn, autocommit=True
                ) as conn:
                    await conn.execute(self.LISTEN)
                    backoff = 0.5
                    self.wake.set()  # notifications may have been missed while disconnected
                    while True:
                        async for _note in conn.notifies(timeout=self.s.poll_s):
                            self.wake.set()
                            RUNNER.listener_alive(self.WHAT)
                        await conn.execute(queries.KEEPALIVE)
                        RUNNER.listener_alive(self.WHAT)
            except psycopg.OperationalError as exc:
                self.say(f"listen connection lost: {one_line(exc)}; reconnecting in {backoff:.1f}s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)


def run(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Run until SIGTERM or SIGINT; then stop claiming, finish or release, and return."""

    from hookline.outbound import OutboundRunner

    async def main() -> None:
        telemetry.setup("hookline-runner")
        both = [Runner(settings, say), OutboundRunner(settings, say)]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: [r.stop() for r in both])
        say(f"runner {settings.name} started (concurrency {settings.concurrency})")
        serve_metrics(RUNNER, settings.metrics_host, settings.metrics_port, say, settings.dsn)
        await asyncio.gather(*(r.run() for r in both))

    asyncio.run(main())
