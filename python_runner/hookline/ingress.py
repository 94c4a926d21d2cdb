"""The webhook ingress: an ASGI app that verifies a webhook, stores it and answers 200 only
after the transaction that stored it committed.

It moves bytes and checks signatures (HMAC belongs to Python, not to the database); what a
body means and how it becomes events is decided by `hookline.receive_many` in SQL. Requests
that arrive while a transaction is in flight are stored together in the next one (group
commit, `GroupCommit`): one commit, one WAL flush for the whole group.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import select
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hookline import logs, queries, telemetry
from hookline.db import through_pooler
from hookline.errors import (
    DatabaseUnavailable,
    HooklineError,
    InvalidArgument,
    InvalidInput,
    NotANotification,
    UnknownSource,
    domain_error,
    is_connection_error,
    wrap_errors,
)
from hookline.masking import Masker
from hookline.metrics import IngressMetrics, serve_metrics
from hookline.resilience import Pool, retrying
from hookline.sealing import SecretKeyError, opener

log = logging.getLogger("hookline.ingress")
MASK = Masker()  # the SQL masking rules, read by every new pool connection
T = TypeVar("T")

# Headers kept with the raw request (hookline.raw_requests.headers): enough to re-verify and
# to tell senders apart, nothing that identifies a person.
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-hub-signature-256",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)
JSON, TEXT = b"application/json", b"text/plain; charset=utf-8"  # content types of the answers
UNKNOWN_SOURCE_LABEL = "(unknown)"  # metrics label for names no source has: bounded cardinality
UNKNOWN_NAMES_KEPT = 10_000  # remembered unknown source names; forgotten all at once beyond

# JSON that PostgreSQL's jsonb cannot hold: a \u0000 escape or a lone surrogate escape (a high
# one not followed by a low one, or a low one alone). Meta escapes every non-ASCII character,
# so a valid pair is two escapes in a row.
_HIGH, _LOW = r"\\u[dD][89abAB][0-9a-fA-F]{2}", r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_SUSPECT = re.compile(rf"\\u0000|{_HIGH}(?!{_LOW})|(?<!{_HIGH}){_LOW}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Settings:
    dsn: str
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: no metrics endpoint
    log_format: str = "human"  # or json (hookline.logs)
    log_level: int = logging.INFO  # DEBUG: also one line per stored request
    db_timeout: float = 5.0  # seconds to get a connection or run the statement, else 503
    cache_seconds: float = 5.0  # how long a source's secrets are reused before re-reading
    pool_size: int = 10
    groups_in_flight: int = 2  # transactions storing requests at once (group commit)
    group_max_requests: int = 64  # requests stored in one transaction at most
    group_max_bytes: int = (
        1 << 20
    )  # body bytes in one transaction at most (one larger body goes alone)


@dataclass(frozen=True)
class Source:
    kind: str
    secrets: tuple[str, ...]
    verify_token: str | None
    max_body_bytes: int
    read_at: float  # time.monotonic() when it was read from the database


class Refused(Exception):
    """A request the ingress answers with a 4xx or 503 status."""

    def __init__(self, status: int, reason: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.detail = status, reason, message, detail


def unavailable(exc: DatabaseUnavailable) -> Refused:
    """503: the sender retries. Where the database is stays in the log, not in the answer."""
    return Refused(503, "db_unavailable", "database unavailable, retry later", f"database: {exc}")


def whatsapp_signature_ok(secrets: tuple[str, ...], raw: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw bytes>, with any of the secrets."""
    if not header or not header.startswith("sha256="):
        return False
    given = header[7:].lower().encode("latin-1", "replace")
    ok = False
    for secret in secrets:  # every secret is tried, so timing does not tell which matched
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest().encode()
        ok |= hmac.compare_digest(expected, given)
    return ok


def standard_signature_ok(secrets: tuple[str, ...], raw: bytes, headers: dict[str, str]) -> bool:
    """Standard Webhooks (webhook-id, webhook-timestamp within 5 minutes, webhook-signature)."""
    for secret in secrets:
        try:
            Webhook(secret).verify(raw, headers, json_parse=False)
        except Exception:  # the library raises several kinds for malformed headers and secrets
            continue
        return True
    return False


def for_jsonb(text: str) -> tuple[str, list[str] | None]:
    """The body as jsonb can take it and the JSON Pointers of the strings (keys included) in
    which a NUL or a lone surrogate was replaced by U+FFFD; (text, None) when nothing needed
    it, or when the body is not JSON at all (the database then says why)."""
    if not _SUSPECT.search(text):
        return text, None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text, None
    pointers: list[str] = []

    def clean(node: object, path: str) -> object:
        if isinstance(node, str):
            if _UNSTORABLE.search(node):
                pointers.append(path)
                return _UNSTORABLE.sub("\ufffd", node)
            return node
        if isinstance(node, list):
            return [clean(v, f"{path}/{i}") for i, v in enumerate(node)]
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                key = _UNSTORABLE.sub("\ufffd", k)
                at = f"{path}/{key.replace('~', '~0').replace('/', '~1')}"
                if key != k:
                    pointers.append(at)
                out[key] = clean(v, at)
            return out
        return node

    try:
        sanitized = clean(parsed, "")
    except RecursionError:
        return text, None
    if not pointers:  # an escaped backslash before "u0000": nothing to replace
        return text, None
    return json.dumps(sanitized), sorted(set(pointers))


def signature_ok(source: Source, raw: bytes, headers: dict[str, str]) -> bool:
    if source.kind == "whatsapp":
        return whatsapp_signature_ok(source.secrets, raw, headers.get("x-hub-signature-256"))
    return standard_signature_ok(source.secrets, raw, headers)


@dataclass
class Pending:
    """One verified request waiting for its group's transaction."""

    source: str
    body: str
    raw: bytes
    headers: dict[str, str]
    sanitized: list[str] | None
    started: float  # time.monotonic() when it arrived: its deadline is started + db_timeout
    answer: asyncio.Future[tuple[int, int, int]]
    in_doubt: bool = False  # its group's call was lost after it was sent (GroupCommit._resolve)


# How long a group whose commit is in doubt (GroupCommit._resolve) is retried, from its
# earliest request's arrival, before it is answered 503 after all (--db-timeout if longer).
IN_DOUBT_S = 60.0


class InDoubt(DatabaseUnavailable):
    """The group's call reached a server session and the connection was lost before its
    answer (a restart, a crash, a cut connection): it may have committed."""


def gone_already(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection has something to read before anything is sent on it: the
    end of a session the server closed (a restart) or a cut connection. A call that fails on
    it never reached a live session, so nothing of it can have committed."""
    try:
        return bool(select.select([conn.pgconn.socket], [], [], 0)[0])
    except (OSError, ValueError, psycopg.Error):
        return True


# A group beyond the first in flight leaves only with at least this many requests: one or two
# requests would pay a group's fixed cost (about 0.45 ms of server CPU with its WAL flush, and
# the call's round trip) for themselves, where waiting for a running group's end (at most one
# group's time) lets them join a larger group. At 8 concurrent clients: groups of 3.8 to 4.1
# requests instead of 2.9 to 3.1, less CPU per request (docs/performance.md, "Ingress").
EXTRA_GROUP_MIN = 3


class GroupCommit:
    """Stores concurrent requests in shared transactions: a request joins the queue; while
    fewer than `groups_in_flight` transactions run, the queue (up to the group limits) goes to
    the database as one `hookline.receive_many` call, which is one transaction; while one runs,
    another starts only for at least EXTRA_GROUP_MIN waiting requests (fewer wait for a running
    group's end). Requests that arrive meanwhile wait for the next one. There is no timer: an
    idle ingress starts a transaction for a lone request at once (the event loop's next turn),
    so grouping adds no latency there; under load, groups grow with the load, and each commit
    (one WAL flush) answers them all.

    Each request gets its own answer: (request_id, events, new_events), or its own error
    (receive_many checks every request on its own: an unknown source or a body that is not a
    notification does not fail the group). Every answer comes after the commit. A commit that
    fails is retried (hookline.resilience) until the earliest deadline of the group, then every
    request of the group gets DatabaseUnavailable (503): nothing of it was acknowledged, and the
    sender retries. An error no per-request check foresaw fails only its request: the group is
    stored again one request per transaction.

    A group whose call was sent to a live session and lost its connection before the answer
    (the server restarted or crashed mid-commit, the connection was cut) may have committed: it
    is in doubt, and a 503 could refuse what is stored (the crash ledger found such phantoms:
    503, yet delivered). Its requests are never answered 503 at their deadline: the group is
    retried on its own (`_resolve`, outside the groups in flight, so new requests still get
    their 503 at once) until the database answers, and that answer is the truth (the first
    store, or a duplicate of the lost commit, 200 either way), or until IN_DOUBT_S after the
    earliest arrival, then 503 (logged). A sender that stops waiting first sees no answer."""

    def __init__(self, ingress: Ingress) -> None:
        self.ingress, self.metrics = ingress, ingress.metrics
        settings = ingress.settings
        self.in_flight_max = settings.groups_in_flight
        self.in_doubt_s = max(IN_DOUBT_S, settings.db_timeout)
        self.max_requests, self.max_bytes = settings.group_max_requests, settings.group_max_bytes
        self.queue: list[Pending] = []
        self.in_flight = 0
        self.scheduled = False
        self.tasks: set[asyncio.Task[None]] = set()

    async def store(self, pending: Pending) -> tuple[int, int, int]:
        self.queue.append(pending)
        self.metrics.waiting.set(len(self.queue))
        if not self.scheduled and self.in_flight < self.in_flight_max:
            # The next turn of the loop, not now: requests parsed in this turn join the group.
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._launch)
        return await pending.answer

    def _launch(self) -> None:
        self.scheduled = False
        while self.queue and self.in_flight < self.in_flight_max:
            if self.in_flight and len(self.queue) < EXTRA_GROUP_MIN:
                break  # they leave with the next group, when a running one ends
            size, count = 0, 0
            for pending in self.queue:
                if count == self.max_requests or (
                    count and size + len(pending.raw) > self.max_bytes
                ):
                    break
                size, count = size + len(pending.raw), count + 1
            group, self.queue = self.queue[:count], self.queue[count:]
            self.metrics.waiting.set(len(self.queue))
            self.metrics.group_size.observe(count)
            self.in_flight += 1
            task = asyncio.create_task(self._commit(group))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _commit(self, group: list[Pending]) -> None:
        try:
            await self._settle(group)
        finally:
            # Whatever happened (the task cancelled at shutdown), no request waits forever;
            # those in doubt are answered by their own task (_resolve).
            answer(
                [p for p in group if not p.in_doubt], DatabaseUnavailable("the ingress is stopping")
            )
            self.in_flight -= 1
            if self.queue and not self.scheduled:
                self._launch()

    async def _settle(self, group: list[Pending]) -> None:
        try:
            rows = await self._receive(group)
        except InDoubt as exc:
            for pending in group:
                pending.in_doubt = True
            log.warning(
                "storing %d requests: %s; it may have committed, so they are not answered 503 "
                "but retried until the database answers (at most %.0f s from their arrival)",
                len(group), exc, self.in_doubt_s,
            )  # fmt: skip
            task = asyncio.create_task(self._resolve(group))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        except DatabaseUnavailable as exc:
            answer(group, exc)
            return
        except Exception as exc:
            if len(group) == 1:  # its handler maps it (400, 404) or it is a bug (500)
                answer(group, exc)
            else:  # not foreseen by the per-request checks: each request on its own
                await asyncio.gather(*(self._settle([p]) for p in group))
            return
        self._answer_rows(group, rows)

    async def _resolve(self, group: list[Pending]) -> None:
        """A group in doubt, retried until the database answers or IN_DOUBT_S passes."""
        try:
            rows = await self._receive(group, self.in_doubt_s)
        except asyncio.CancelledError:
            answer(group, DatabaseUnavailable("the ingress is stopping"))
            raise
        except Exception as exc:
            log.warning("storing %d requests in doubt: %s", len(group), exc)
            answer(group, exc)
            return
        log.info("storing %d requests in doubt: the database answered", len(group))
        self._answer_rows(group, rows)

    def _answer_rows(self, group: list[Pending], rows: list[Any]) -> None:
        counts: dict[str, tuple[int, int]] = {}  # per source: stored requests, new events
        for pending, (_ord, request_id, events, new, code, message) in zip(
            group, rows, strict=True
        ):
            if code is None:
                answer([pending], (request_id, events, new))
                stored, new_events = counts.get(pending.source, (0, 0))
                counts[pending.source] = (stored + 1, new_events + new)
            else:
                answer([pending], domain_error(code, message) or HooklineError(message))
        self.metrics.stored(counts)  # once per group, not per request

    async def _receive(self, group: list[Pending], limit: float | None = None) -> list[Any]:
        """The group's call, retried until --db-timeout (or `limit` seconds) after its earliest
        request's arrival; InDoubt when it failed after one of its tries was lost mid-call."""
        params = {
            "sources": [p.source for p in group],
            "bodies": [p.body for p in group],
            "raws": [p.raw for p in group],
            "headers": [Jsonb(p.headers) for p in group],
            "sanitized": [None if p.sanitized is None else Jsonb(p.sanitized) for p in group],
        }

        lost_mid_call = False

        async def receive(conn: psycopg.AsyncConnection[Any]) -> Any:
            nonlocal lost_mid_call
            gone = gone_already(conn)
            try:
                return await (await conn.execute(queries.RECEIVE_MANY, params)).fetchall()
            except psycopg.Error as exc:
                # Sent to a live session, then the connection lost (or the session ended by a
                # shutdown, 57P0x) before the answer: the commit may have happened.
                lost_mid_call = lost_mid_call or (not gone and is_connection_error(exc))
                raise

        # A repeated group is a group of duplicates: retrying one after a lost commit is safe.
        started = min(p.started for p in group)
        what = "storing a request" if len(group) == 1 else f"storing {len(group)} requests"
        try:
            return await self.ingress.call(what, started, receive, limit)
        except InDoubt:
            raise
        except DatabaseUnavailable as exc:
            if lost_mid_call and limit is None:
                raise InDoubt(f"a try was lost mid-call ({exc})") from exc
            raise


def answer(group: list[Pending], outcome: tuple[int, int, int] | BaseException) -> None:
    for pending in group:
        if pending.answer.done():  # its client went away and its handler was cancelled
            continue
        if isinstance(outcome, BaseException):
            pending.answer.set_exception(outcome)
        else:
            pending.answer.set_result(outcome)


class Ingress:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = Pool(
            settings.dsn,
            name="ingress",
            max_size=settings.pool_size,
            timeout=settings.db_timeout,
            configure=self._configure,
            connect_timeout=max(1, round(settings.db_timeout)),
        )
        self._cache: dict[str, Source] = {}
        # Negative caches, so forged traffic costs no query per request: when a failed signature
        # last re-read a source's secrets, and names found to be no source.
        self._rechecked: dict[str, float] = {}
        self._unknown: dict[str, float] = {}
        self.metrics = IngressMetrics()
        self.groups = GroupCommit(self)

    async def _configure(self, conn: psycopg.AsyncConnection) -> None:
        # A session SET behind a transaction pooler would stick to a server connection that
        # other clients get next: there the pooler's query_timeout bounds it (docs/scaling.md).
        server_pid = (await (await conn.execute(queries.BACKEND_PID)).fetchone())[0]
        if not through_pooler(conn, server_pid):
            await conn.execute(
                queries.SET_STATEMENT_TIMEOUT, {"ms": str(int(self.settings.db_timeout * 1000))}
            )
            # A server session of its own keeps prepared statements: the group's call is parsed
            # and planned once per connection, not once per group (0.1 to 0.17 ms of the
            # server's CPU per group, measured). Behind a pooler, never (docs/scaling.md).
            conn.prepare_threshold = 0
        MASK.use(await (await conn.execute(queries.MASKING_RULES)).fetchall())

    async def call(self, what: str, started: float, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]], limit: float | None = None) -> T:  # fmt: skip
        """fn(conn) on a pooled connection, transient errors retried until db_timeout (or
        `limit` seconds) after `started` (then DatabaseUnavailable: 503); other errors mapped
        by wrap_errors."""
        with wrap_errors():
            return await retrying(
                self.pool, fn, what=what, deadline=started + (limit or self.settings.db_timeout)
            )

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.pool.open(wait=False)  # start even when the database is down: /readyz says so
        try:
            yield
        finally:
            await self.pool.close()

    async def source(self, name: str, *, fresh: bool = False) -> Source:
        """The source's credentials, reused for cache_seconds; Refused(404) if there is none."""
        hit = self._cache.get(name)
        now = time.monotonic()
        if hit and not fresh and now - hit.read_at < self.settings.cache_seconds:
            return hit
        if now - self._unknown.get(name, -float("inf")) < self.settings.cache_seconds:
            raise Refused(404, "unknown_source", "no such source")

        async def read(conn: psycopg.AsyncConnection[Any]) -> Any:
            cur = await conn.execute(queries.SOURCE_CREDENTIALS, {"source": name})
            return await cur.fetchone()

        try:
            row = await self.call("reading a source", time.monotonic(), read)
        except InvalidInput:  # a name no source can have (a NUL character)
            row = None
        if row is None:
            self._cache.pop(name, None)
            if len(self._unknown) >= UNKNOWN_NAMES_KEPT:
                self._unknown.clear()
            self._unknown[name] = time.monotonic()
            raise Refused(404, "unknown_source", "no such source")
        try:  # secrets are stored sealed (hookline.sealing); opened here, kept in memory only
            secrets = tuple(opener()(s) for s in row[1])
            token = opener()(row[2]) if row[2] is not None else None
        except SecretKeyError as exc:
            raise Refused(
                503, "secret_key", "cannot verify requests now, retry later", str(exc)
            ) from exc
        source = Source(row[0], secrets, token, row[3], time.monotonic())
        self._cache[name] = source
        return source

    async def verified(
        self, name: str, source: Source, raw: bytes, headers: dict[str, str], started: float
    ) -> bool:
        if signature_ok(source, raw, headers):
            return True
        if source.read_at >= started:  # read for this very request: nothing newer to try
            return False
        # The cached copy may predate a rotation: re-read before refusing, but at most once per
        # cache_seconds per source, so a flood of forged requests costs no query each. A new
        # secret still verifies within cache_seconds (the cached copy expires by then anyway).
        now = time.monotonic()
        if now - self._rechecked.get(name, -float("inf")) < self.settings.cache_seconds:
            return False
        self._rechecked[name] = now
        return signature_ok(await self.source(name, fresh=True), raw, headers)

    async def handshake(self, request: Request) -> Response:
        name = request.path_params["source"]
        try:
            source = await self.source(name)
            params = request.query_params
            token = params.get("hub.verify_token", "")
            if not (
                source.kind == "whatsapp"
                and source.verify_token
                and params.get("hub.mode") == "subscribe"
                and hmac.compare_digest(token.encode(), source.verify_token.encode())
            ):
                raise Refused(403, "handshake", "verification failed")
        except Refused as refused:
            return self.refuse(name, refused)
        except DatabaseUnavailable as exc:
            return self.refuse(name, unavailable(exc))
        return PlainTextResponse(params.get("hub.challenge", ""))

    async def webhook(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        """POST /webhooks/{source}, as a plain ASGI callable: the hot path, without a
        framework's request, response and routing objects (starlette serves the other routes).
        Times itself into hookline_ingress_request_duration_seconds; an error no check
        foresaw counts as 5xx and goes on to uvicorn (a 500 and the traceback in the log)."""
        started = time.monotonic()
        status = 500
        try:
            try:
                body, content_type = await self._webhook(name, scope, receive, started), JSON
                status = 200
            except Refused as refused:
                status, body, content_type = refused.status, self.refused(name, refused), TEXT
            except DatabaseUnavailable as exc:
                status, body, content_type = 503, self.refused(name, unavailable(exc)), TEXT
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", content_type), (b"content-length", str(len(body)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.webhook_answered(status, time.monotonic() - started)

    async def _webhook(self, name: str, scope: Scope, receive: Receive, started: float) -> bytes:
        source = await self.source(name)
        headers = request_headers(scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refused(415, "content_type", "content type must be application/json")
        raw = await read_body(headers, receive, source.max_body_bytes)
        if not await self.verified(name, source, raw, headers, started):
            raise Refused(401, "bad_signature", "missing or wrong signature")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "bad_body", "body is not UTF-8") from None
        kept = {h: headers[h] for h in KEPT_HEADERS if h in headers}
        # Valid JSON that jsonb cannot hold is not refused: the raw bytes are stored as received,
        # the events come from a sanitised parse and say which strings were changed.
        body, sanitized = for_jsonb(text)
        kept["traceparent"] = telemetry.traceparent(headers.get("traceparent"))
        pending = Pending(name, body, raw, kept, sanitized, started,
                          asyncio.get_running_loop().create_future())  # fmt: skip
        try:
            request_id, events, new = await self.groups.store(pending)
        except (NotANotification, InvalidInput, InvalidArgument) as exc:
            raise Refused(400, "bad_body", str(exc)) from None
        except UnknownSource:  # removed since its credentials were read
            raise Refused(404, "unknown_source", "no such source") from None
        telemetry.annotate(source=name, outcome="stored", events=events, new_events=new)
        # One line per stored request only at --log-level debug: the metrics count them.
        log.debug("stored source=%s request=%s events=%s new=%s", name, request_id, events, new)
        return b'{"request_id":%d,"events":%d,"new_events":%d}' % (request_id, events, new)

    def refused(self, name: str, refused: Refused) -> bytes:
        """Counts and logs a refusal; its answer's body."""
        label = UNKNOWN_SOURCE_LABEL if refused.reason == "unknown_source" else name
        self.metrics.refused(label, refused.reason, refused.status)
        telemetry.annotate(source=label, outcome=refused.reason)
        # Never the body, headers or query: they may carry secrets and personal data.
        log.warning(
            "refused source=%s status=%s reason=%s: %s",
            label,
            refused.status,
            refused.reason,
            refused.detail or refused.message,
        )
        return (refused.message + "\n").encode()

    def refuse(self, name: str, refused: Refused) -> Response:
        return PlainTextResponse(self.refused(name, refused).decode(), status_code=refused.status)

    async def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(self, _request: Request) -> Response:
        async def ready(conn: psycopg.AsyncConnection[Any]) -> Any:
            return await (await conn.execute(queries.READY)).fetchone()

        try:
            row = await self.call("checking readiness", time.monotonic(), ready)
        except DatabaseUnavailable as exc:
            log.warning("not ready: %s", exc)
            return PlainTextResponse("database unavailable\n", status_code=503)
        if not row or not row[0]:
            return PlainTextResponse("schema not deployed: run hookline db deploy\n", 503)
        return PlainTextResponse("ready\n")


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; the first one of a repeated name counts."""
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if name not in headers:
            headers[name] = value.decode("latin-1")
    return headers


async def read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed the limit."""
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "bad_body", "invalid Content-Length")
        if int(declared) > limit:
            raise Refused(413, "too_large", f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "disconnected", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too_large", f"body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def webhook_source(path: str) -> str | None:
    """The {source} of /webhooks/{source}, or None for any other path."""
    if path.startswith("/webhooks/"):
        name = path[10:]
        if name and "/" not in name:
            return name
    return None


def create_app(settings: Settings) -> App:
    """The ingress's ASGI app: POST /webhooks/{source} straight to Ingress.webhook; every
    other request (the handshake, /healthz, /readyz, 404, 405) and the lifespan to starlette."""
    ingress = Ingress(settings)
    rest = Starlette(
        routes=[
            Route("/webhooks/{source}", ingress.handshake, methods=["GET"]),
            Route("/healthz", ingress.healthz, methods=["GET"]),
            Route("/readyz", ingress.readyz, methods=["GET"]),
        ],
        lifespan=ingress.lifespan,
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            name = webhook_source(scope["path"])
            if name is not None:
                await ingress.webhook(scope, receive, send, name)
                return
        await rest(scope, receive, send)

    return App(app, ingress)


@dataclass(frozen=True)
class App:
    asgi: Callable[[Scope, Receive, Send], Awaitable[None]]
    ingress: Ingress


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the ingress with uvicorn until SIGINT or SIGTERM, then exit with status 0."""
    import uvicorn

    logs.setup(
        settings.log_format, MASK, settings.log_level
    )  # uvicorn's lines (tracebacks too) are masked
    # uvicorn handles SIGINT/SIGTERM itself (a graceful stop), restores the handlers found at
    # start and raises the signal again: the no-op handlers below make that a clean exit (0).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    telemetry.setup("hookline-ingress")
    app = create_app(settings)
    serve_metrics(app.ingress.metrics, settings.metrics_host, settings.metrics_port, log.info)
    # No access log: a handshake's query string carries the verify token. log_config=None:
    # uvicorn's loggers propagate to the root handler (hookline.logs) instead of their own.
    uvicorn.run(telemetry.asgi(app.ingress.metrics.middleware(app.asgi)), host=host, port=port, access_log=False,
                log_level=settings.log_level, log_config=None)  # fmt: skip
