"""Masking of log lines with the rules SQL defines (hookline.masking_rules()).

The one masking definition lives in PostgreSQL; the ingress and the runner read its rules
when they connect and apply them to every line they log, so a phone number that reaches a log
line (in an error message quoting a body, say) is masked exactly as the operator views mask
it. Until the rules have been read (the database was never reachable), every run of six or
more digits is hidden: stricter, never looser.

The SQL rules are authoritative (the operator views show what they leave). Log lines then go
through Google's phonenumbers as well, which finds numbers the patterns may miss (unusual
separators, extensions); it only ever hides more. National numbers are read as North American
(the SQL patterns cover other countries' national formats with separators).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

UNREAD_RULES = [(re.compile(r"[0-9]{6,}"), "[digits]")]
NATIONAL_REGION = "US"
# What phonenumbers' matcher needs to find a valid number: digit blocks separated by at most
# four punctuation characters (its candidate pattern), and a valid number has at least six
# digits, country code included (the shortest in its metadata: +43 and a 4-digit line). A line without such a run cannot hold one: the matcher,
# the costly part of masking, is skipped for it (lines such as "stored ... request=42").
MAYBE_PHONE = re.compile(r"\d(?:\D{0,4}\d){5}")


class Masker:
    def __init__(self) -> None:
        self.rules: list[tuple[re.Pattern[str], str]] = list(UNREAD_RULES)

    def use(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Adopt the rows of hookline.masking_rules(): (rule, pattern, replacement)."""
        self.rules = [(re.compile(pattern), replacement) for _rule, pattern, replacement in rows]

    def __call__(self, text: str) -> str:
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        if not MAYBE_PHONE.search(text):
            return text
        found = phonenumbers.PhoneNumberMatcher(
            text, NATIONAL_REGION, leniency=phonenumbers.Leniency.VALID
        )
        for match in reversed(list(found)):
            text = text[: match.start] + "[phone]" + text[match.end :]
        return text
