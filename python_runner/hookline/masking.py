"""Masking of log lines with the rules SQL defines (hookline.masking_rules()).

The one masking definition lives in PostgreSQL; the ingress and the runner read its rules
when they connect and apply them to every line they log, so a phone number that reaches a log
line (in an error message quoting a body, say) is masked exactly as the operator views mask
it. Until the rules have been read (the database was never reachable), every run of six or
more digits is hidden: stricter, never looser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

UNREAD_RULES = [(re.compile(r"[0-9]{6,}"), "[digits]")]


class Masker:
    def __init__(self) -> None:
        self.rules: list[tuple[re.Pattern[str], str]] = list(UNREAD_RULES)

    def use(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Adopt the rows of hookline.masking_rules(): (rule, pattern, replacement)."""
        self.rules = [(re.compile(pattern), replacement) for _rule, pattern, replacement in rows]

    def __call__(self, text: str) -> str:
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        return text


class MaskingFilter(logging.Filter):
    """Masks a record's formatted message before any handler writes it."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.masker(record.getMessage())
        record.args = None
        return True
