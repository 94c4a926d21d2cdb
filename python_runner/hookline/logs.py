"""The one logging setup of the ingress and the runner: human lines or JSON lines on stderr,
every line masked with the SQL masking rules.

JSON lines carry time, level, logger and message, the trace and span ids of the current span
(when tracing is on, `hookline.telemetry`), and the fields the message names as key=value
(tenant, source, endpoint, delivery, request, status, reason, events, new), so a log
pipeline can filter on them without parsing messages.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

from hookline import telemetry
from hookline.masking import Masker

FORMATS = ("human", "json")
HUMAN = "%(asctime)s %(name)s %(levelname)s %(message)s"
FIELDS = re.compile(r"\b(tenant|source|endpoint|delivery|delivery_id|request|status|reason|events|new)=([^\s,;:]+)")  # fmt: skip


def unmasked(text: str) -> str:
    return text


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
    """The human format, masked (tracebacks too)."""

    def __init__(self, masker: Callable[[str], str]) -> None:
        super().__init__(HUMAN)
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self.masker(super().format(record))


def setup(fmt: str, masker: Masker | None = None) -> None:
    """Route every logger (uvicorn's too) to one stderr handler in the chosen format, masked
    with `masker` (None: the caller masks its lines itself, as the runner does)."""
    masker = masker or unmasked
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(masker) if fmt == "json" else MaskingFormatter(masker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
