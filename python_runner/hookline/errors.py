"""The one exception hierarchy of hookline and the seam that maps SQLSTATEs onto it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg


class HooklineError(Exception):
    """hookline failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class DatabaseUnavailable(HooklineError):
    """The database cannot be reached."""


class PlanError(HooklineError):
    """The migration plan is invalid."""


class MigrationError(HooklineError):
    """A migration failed; nothing of it was applied."""


class UnknownSource(HooklineError):
    """No source has that name."""


class InvalidArgument(HooklineError):
    """An argument was rejected by the database."""


# SQLSTATE -> domain error; any other HLnnn code becomes a plain HooklineError with the
# function's message. Codes are listed in docs/errors.md.
_CODES: dict[str, type[HooklineError]] = {
    "HL001": UnknownSource,
    "HL002": InvalidArgument,
}


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, for one-line CLI errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def wrap_errors() -> Iterator[None]:
    """Translate psycopg errors into hookline's, by SQLSTATE, never by message text."""
    try:
        yield
    except psycopg.Error as exc:
        code = exc.sqlstate or ""
        # psycopg files SQLSTATE classes it does not know (like HL) under OperationalError too.
        if isinstance(exc, psycopg.OperationalError) and (not code or code.startswith("08")):
            raise DatabaseUnavailable(one_line(exc)) from exc
        kind = _CODES.get(code, HooklineError if code.startswith("HL") else None)
        if kind is None:
            raise
        raise kind(exc.diag.message_primary or one_line(exc)) from exc
