"""The one logging setup of the long-running processes (`hookline runner`, `hookline ingress`).

Every line carries a UTC timestamp and a level, goes to stderr, and is masked with the SQL
masking rules (hookline.masking) before any handler writes it: uvicorn's and psycopg's lines
too, since they propagate to the root handler installed here.
"""

from __future__ import annotations

import logging
import time

from hookline.masking import Masker, MaskingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(masker: Masker, level: int = logging.INFO) -> None:
    """Route every logger through one masked stderr handler, human format, UTC timestamps."""
    formatter = logging.Formatter(FORMAT)
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(MaskingFilter(masker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg_pool warns on every failed connection attempt (4 a second during an outage);
    # hookline.resilience says "database unreachable" once and "reconnected" once instead.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
