"""OpenTelemetry traces, configured only by the standard OTEL_* environment variables.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, unless
OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none; spans go by OTLP/HTTP (protobuf), with the
sampler, service name, resource attributes and batching of the other OTEL_* variables. Off,
every hook returns after testing one flag, and the ingress app is not wrapped at all.

Spans: one per ingress request (server span, continuing the sender's `traceparent`), one per
delivery attempt and outbox send, one per claim and complete round trip, one per scheduled
job run. The attempt spans are children of the `traceparent` stored with the event, which
every delivery of it also sends, so a handler continues the ingress request's trace on a retry
hours later and on a replay. Attributes carry names, ids, counts, statuses and error classes:
never a body, a header value, a phone number or a URL.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from typing import Any

ON = False
_tracer: Any = None
TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def setup(service: str) -> None:
    """Start exporting spans when the environment asks for it; `service` is the default
    service.name (OTEL_SERVICE_NAME wins)."""
    global ON, _tracer
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return
    if not (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service})
    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)  # flushed and shut down at exit
    _tracer = trace.get_tracer("hookline")
    ON = True


def _context(traceparent: str | None) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent or ""})


def _record(name: str, start_ns: int, attributes: dict[str, Any], traceparent: str | None = None,
            error: str | None = None) -> None:  # fmt: skip
    """A span that already happened, from start_ns (Unix ns) to now."""
    from opentelemetry.trace import Status, StatusCode

    span = _tracer.start_span(
        name,
        context=_context(traceparent),
        attributes={k: v for k, v in attributes.items() if v is not None},
        start_time=start_ns,
    )
    if error:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end()


# --- the ingress ---------------------------------------------------------------------------


def asgi(app: Any) -> Any:
    """The app, wrapped with a server span per webhook request when tracing is on."""
    if not ON:
        return app
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    async def traced(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/webhooks/"):
            await app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"), None
        )
        span = _tracer.start_span(
            f"{scope['method']} /webhooks/{{source}}",
            context=_context(incoming),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "http.route": "/webhooks/{source}"},
        )

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        with trace.use_span(span, end_on_exit=True):
            await app(scope, receive, sending)

    return traced


def annotate(**attributes: Any) -> None:
    """Attributes of the current ingress request's span (hookline.source, outcome, events)."""
    if ON:
        from opentelemetry import trace

        trace.get_current_span().set_attributes(
            {f"hookline.{k}": v for k, v in attributes.items() if v is not None}
        )


def traceparent(incoming: str | None) -> str:
    """The traceparent stored with the request's events: the ingress span's when tracing is
    on, else the sender's when valid, else a new root."""
    if ON:
        from opentelemetry import trace

        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    if incoming and TRACEPARENT.match(incoming.strip().lower()):
        return incoming.strip().lower()
    ids = secrets.token_hex(24)  # one read of the system's random source for both ids
    return f"00-{ids[:32]}-{ids[32:]}-01"


# --- the runner ----------------------------------------------------------------------------


def propagate(traceparent: str | None) -> dict[str, str]:
    """The traceparent header every delivery of an event carries (tracing on or off)."""
    return {"traceparent": traceparent} if traceparent else {}


def attempt(kind: str, result: dict[str, Any], traceparent: str | None = None,
            attempt_number: int | None = None, **target: Any) -> None:  # fmt: skip
    """A span for one delivery attempt or outbox send, from its result; `target` is the
    endpoint_id or the sending number's phone_number_id (a business id, not a person's)."""
    if not ON:
        return
    error = result.get("error_class")
    _record(
        "hookline.delivery.attempt" if kind == "deliveries" else "hookline.outbox.send",
        time.time_ns() - int(result.get("duration_ms", 0)) * 1_000_000,
        {
            "hookline.kind": kind,
            "hookline.delivery_id": result.get("delivery_id"),
            "hookline.message_id": result.get("message_id"),
            "hookline.attempt": attempt_number,
            "http.response.status_code": result.get("status_code"),
            "error.type": error,
            "hookline.graph_error_code": result.get("error_code"),
            **{f"hookline.{k}": v for k, v in target.items()},
        },
        traceparent,
        error,
    )


def batch(call: str, kind: str, start_ns: int, rows: int) -> None:
    """A span for one claim or complete round trip."""
    if ON:
        _record(f"hookline.{call}", start_ns, {"hookline.kind": kind, "hookline.rows": rows})


def job(name: str, start_ns: int, status: str) -> None:
    """A span for one scheduled job run."""
    if ON:
        _record("hookline.job", start_ns, {"hookline.job_name": name, "hookline.job_status": status},
                error=None if status in ("succeeded", "skipped") else status)  # fmt: skip


def log_ids() -> dict[str, str]:
    """trace_id and span_id of the current span, for JSON log lines; none when tracing is off."""
    if not ON:
        return {}
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return (
        {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
        if ctx.is_valid
        else {}
    )
