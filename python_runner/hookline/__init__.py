"""hookline: a Postgres-first webhook reliability core."""

from __future__ import annotations

__version__ = "0.2.0"
