"""The one logging setup of the long-running processes (`hookline runner`, `hookline ingress`):
human lines or JSON lines on stderr, every line masked with the SQL masking rules
(hookline.masking) before it is written: uvicorn's and psycopg's lines too, since they
propagate to the root handler installed here.

Human lines carry a UTC timestamp, the level and the logger. JSON lines carry time, level,
logger and message, the trace and span ids of the current span (when tracing is on,
`hookline.telemetry`), and the fields the message names as key=value (tenant, source,
endpoint, delivery, request, status, reason, events, new), so a log pipeline can filter on
them without parsing messages.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from hookline import telemetry

FORMATS = ("human", "json")
HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FIELDS = re.compile(r"\b(tenant|source|endpoint|delivery|delivery_id|request|status|reason|events|new)=([^\s,;:]+)")  # fmt: skip


class JsonFormatter(logging.Formatter):
    def __init__(self, masker: Callable[[str], str]) -> None:
        super().__init__()
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        message = self.masker(record.getMessage())
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in FIELDS.findall(message):
            doc.setdefault(key, value)
        doc.update(telemetry.log_ids())
        if record.exc_info:
            doc["exception"] = self.masker(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """The human format with UTC timestamps, masked (tracebacks too)."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self, masker: Callable[[str], str]) -> None:
        super().__init__(HUMAN)
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self.masker(super().format(record))


def setup(fmt: str, masker: Callable[[str], str], level: int = logging.INFO) -> None:
    """Route every logger to one stderr handler in the chosen format, masked with `masker`."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(masker) if fmt == "json" else MaskingFormatter(masker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg_pool warns on every failed connection attempt (4 a second during an outage);
    # hookline.resilience says "database unreachable" once and "reconnected" once instead.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
