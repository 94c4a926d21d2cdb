"""The webhook ingress: an ASGI app that verifies a webhook, stores it with one SQL call and
answers 200 only after that call committed.

It moves bytes and checks signatures (HMAC belongs to Python, not to the database); what a
body means and how it becomes events is decided by `hookline.receive` in SQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from psycopg.types.json import Jsonb
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hookline import queries
from hookline.errors import (
    DatabaseUnavailable,
    InvalidInput,
    NotANotification,
    UnknownSource,
    wrap_errors,
)
from hookline.logs import setup_logging
from hookline.masking import Masker, MaskingFilter
from hookline.resilience import Pool, retrying

log = logging.getLogger("hookline.ingress")
MASK = Masker()  # the SQL masking rules, read by every new pool connection
log.addFilter(MaskingFilter(MASK))
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
UNKNOWN_SOURCE_LABEL = "(unknown)"  # metrics label for names no source has: bounded cardinality


@dataclass(frozen=True)
class Settings:
    dsn: str
    db_timeout: float = 5.0  # seconds to get a connection or run the statement, else 503
    cache_seconds: float = 5.0  # how long a source's secrets are reused before re-reading
    pool_size: int = 10


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


def signature_ok(source: Source, raw: bytes, headers: dict[str, str]) -> bool:
    if source.kind == "whatsapp":
        return whatsapp_signature_ok(source.secrets, raw, headers.get("x-hub-signature-256"))
    return standard_signature_ok(source.secrets, raw, headers)


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
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "hookline_ingress_accepted",
            "Requests stored and answered 200, by source.",
            ["source"],
            registry=self.registry,
        )
        self.refused = Counter(
            "hookline_ingress_refused",
            "Requests refused, by source and reason.",
            ["source", "reason"],
            registry=self.registry,
        )

    async def _configure(self, conn: psycopg.AsyncConnection) -> None:
        await conn.execute(
            queries.SET_STATEMENT_TIMEOUT, {"ms": str(int(self.settings.db_timeout * 1000))}
        )
        MASK.use(await (await conn.execute(queries.MASKING_RULES)).fetchall())

    async def call(self, what: str, started: float, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:  # fmt: skip
        """fn(conn) on a pooled connection, transient errors retried until db_timeout after
        `started` (then DatabaseUnavailable: 503); other errors mapped by wrap_errors."""
        with wrap_errors():
            return await retrying(
                self.pool, fn, what=what, deadline=started + self.settings.db_timeout
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
        if hit and not fresh and time.monotonic() - hit.read_at < self.settings.cache_seconds:
            return hit

        async def read(conn: psycopg.AsyncConnection[Any]) -> Any:
            cur = await conn.execute(queries.SOURCE_CREDENTIALS, {"source": name})
            return await cur.fetchone()

        try:
            row = await self.call("reading a source", time.monotonic(), read)
        except InvalidInput:  # a name no source can have (a NUL character)
            row = None
        if row is None:
            self._cache.pop(name, None)
            raise Refused(404, "unknown_source", "no such source")
        source = Source(row[0], tuple(row[1]), row[2], row[3], time.monotonic())
        self._cache[name] = source
        return source

    async def verified(
        self, name: str, source: Source, raw: bytes, request: Request, started: float
    ) -> bool:
        headers = dict(request.headers)
        if signature_ok(source, raw, headers):
            return True
        if source.read_at >= started:  # read for this very request: nothing newer to try
            return False
        # The cached copy may predate a rotation: re-read once before refusing.
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

    async def webhook(self, request: Request) -> Response:
        name = request.path_params["source"]
        try:
            return await self._webhook(name, request)
        except Refused as refused:
            return self.refuse(name, refused)
        except DatabaseUnavailable as exc:
            return self.refuse(name, unavailable(exc))
        except ClientDisconnect:
            return self.refuse(name, Refused(400, "disconnected", "the client went away"))

    async def _webhook(self, name: str, request: Request) -> Response:
        started = time.monotonic()
        source = await self.source(name)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refused(415, "content_type", "content type must be application/json")
        raw = await read_body(request, source.max_body_bytes)
        if not await self.verified(name, source, raw, request, started):
            raise Refused(401, "bad_signature", "missing or wrong signature")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "bad_body", "body is not UTF-8") from None
        headers = {h: request.headers[h] for h in KEPT_HEADERS if h in request.headers}
        params = {"source": name, "body": text, "raw": raw, "headers": Jsonb(headers)}

        async def receive(conn: psycopg.AsyncConnection[Any]) -> Any:
            return await (await conn.execute(queries.RECEIVE, params)).fetchone()

        try:  # a repeated receive is a duplicate: retrying it after a lost commit is safe
            request_id, events, new = await self.call("storing a request", started, receive)
        except (NotANotification, InvalidInput) as exc:
            raise Refused(400, "bad_body", str(exc)) from None
        except UnknownSource:  # removed since its credentials were read
            raise Refused(404, "unknown_source", "no such source") from None
        self.accepted.labels(name).inc()
        log.info("stored source=%s request=%s events=%s new=%s", name, request_id, events, new)
        return JSONResponse({"request_id": request_id, "events": events, "new_events": new})

    def refuse(self, name: str, refused: Refused) -> Response:
        label = UNKNOWN_SOURCE_LABEL if refused.reason == "unknown_source" else name
        self.refused.labels(label, refused.reason).inc()
        # Never the body, headers or query: they may carry secrets and personal data.
        log.warning(
            "refused source=%s status=%s reason=%s: %s",
            label,
            refused.status,
            refused.reason,
            refused.detail or refused.message,
        )
        return PlainTextResponse(refused.message + "\n", status_code=refused.status)

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

    async def metrics(self, _request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "bad_body", "invalid Content-Length")
        if int(declared) > limit:
            raise Refused(413, "too_large", f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too_large", f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings) -> Starlette:
    ingress = Ingress(settings)
    app = Starlette(
        routes=[
            Route("/webhooks/{source}", ingress.handshake, methods=["GET"]),
            Route("/webhooks/{source}", ingress.webhook, methods=["POST"]),
            Route("/healthz", ingress.healthz, methods=["GET"]),
            Route("/readyz", ingress.readyz, methods=["GET"]),
            Route("/metrics", ingress.metrics, methods=["GET"]),
        ],
        lifespan=ingress.lifespan,
    )
    app.state.ingress = ingress
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the ingress with uvicorn until SIGINT or SIGTERM, then exit with status 0."""
    import uvicorn

    setup_logging(MASK)
    # uvicorn handles SIGINT/SIGTERM itself (a graceful stop), restores the handlers found at
    # start and raises the signal again: the no-op handlers below make that a clean exit (0).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    # No access log: a handshake's query string carries the verify token. log_config=None:
    # uvicorn's loggers propagate to the root handler (setup_logging) instead of their own.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_level="info",
                log_config=None)  # fmt: skip
