"""The one exception hierarchy of hookline and the seam that maps SQLSTATEs onto it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg_pool import PoolTimeout


class HooklineError(Exception):
    """hookline failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class DatabaseUnavailable(HooklineError):
    """The database cannot be reached, or failed in a way that asking again may cure."""


class ConnectFailed(DatabaseUnavailable):
    """No connection could be made: the error came while connecting, not from a statement
    on a connection that was made (hookline.db.connect raises it)."""

    def __init__(
        self, message: str | None = None, *, sqlstate: str | None = None,
        dsn: str | None = None, timeout: float = 10, answered: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(message)
        # The SQLSTATE of the server's refusal, when it answered with one: psycopg's error has
        # none; only the start-up checks ask the server again for it (resilience.at_start,
        # hookline.db.ask_refusal), from the DSN and timeout of the attempt; `answered`: it
        # failed before its timeout (something answered at the address).
        self.sqlstate = sqlstate
        self.dsn, self.timeout, self.answered = dsn, timeout, answered


class PlanError(HooklineError):
    """The migration plan is invalid."""


class MigrationError(HooklineError):
    """A migration failed; nothing of it was applied."""


class UnknownSource(HooklineError):
    """No source has that name."""


class InvalidArgument(HooklineError):
    """An argument was rejected by the database."""


class NotANotification(HooklineError):
    """The body is not a notification of the source's kind."""


class SourceExists(HooklineError):
    """A source of that name exists."""


class SourceInUse(HooklineError):
    """Senders refer to the source: it cannot be removed."""


class InvalidSource(HooklineError):
    """The source's name, kind, secret or size limit is invalid."""


class UnknownTenant(HooklineError):
    """No tenant has that id."""


class InvalidInput(HooklineError):
    """The database could not read the input (not JSON, not UTF-8, nested too deeply)."""


class UnknownEndpoint(HooklineError):
    """No endpoint has that name."""


class InvalidEndpoint(HooklineError):
    """An endpoint setting was rejected."""


class InvalidPattern(HooklineError):
    """The event type pattern is invalid."""


class EndpointInUse(HooklineError):
    """The endpoint still has deliveries or dead letters."""


class EndpointExists(HooklineError):
    """An endpoint of that name exists."""


class NotInDeadLetterQueue(HooklineError):
    """The delivery is not where the operation needs it."""


class UnknownSubscription(HooklineError):
    """No subscription has that id."""


class EventExpired(HooklineError):
    """The event was dropped by retention."""


class UnknownSender(HooklineError):
    """No sender has that phone number id (or the source has none)."""


class InvalidMessage(HooklineError):
    """The recipient, message body or idempotency key is invalid."""


class InvalidSender(HooklineError):
    """A sender setting was rejected."""


class SenderExists(HooklineError):
    """A sender with that phone number id exists."""


class UnknownBreaker(HooklineError):
    """No endpoint or sender is that breaker's target."""


class AuditAppendOnly(HooklineError):
    """The audit log is append-only."""


class UnknownRole(HooklineError):
    """No database role has that name."""


class HttpNotAllowed(HooklineError):
    """Plain http is not allowed for the tenant."""


class ReadOnlyDatabase(HooklineError):
    """The database is read-only (a replica?): replay, discard and other writes need the primary."""


class PermissionDenied(HooklineError):
    """The role may not do this (docs/security.md lists what each role may)."""


class SchemaTooNew(HooklineError):
    """The database has schema changes this hookline does not know; upgrade hookline."""


class SchemaNotCurrent(HooklineError):
    """The database lacks changes or functions of this hookline: deploy them first."""


# SQLSTATE -> domain error; any other HLnnn code becomes a plain HooklineError with the
# function's message. Codes are listed in docs/errors.md.
_CODES: dict[str, type[HooklineError]] = {
    "HL001": UnknownSource,
    "HL002": InvalidArgument,
    "HL040": NotANotification,
    "HL041": NotANotification,
    "HL042": SourceExists,
    "HL043": InvalidSource,
    "HL044": UnknownTenant,
    "HL045": SourceInUse,
    "HL020": UnknownEndpoint,
    "HL021": InvalidEndpoint,
    "HL022": InvalidPattern,
    "HL023": EndpointInUse,
    "HL024": EndpointExists,
    "HL025": NotInDeadLetterQueue,
    "HL026": InvalidArgument,
    "HL027": UnknownSubscription,
    "HL028": EventExpired,
    "HL060": UnknownSender,
    "HL061": InvalidMessage,
    "HL062": InvalidSender,
    "HL063": SenderExists,
    "HL064": InvalidArgument,
    "HL065": UnknownBreaker,
    "HL066": InvalidArgument,
    "HL067": InvalidMessage,
    "HL080": AuditAppendOnly,
    "HL081": UnknownRole,
    "HL082": HttpNotAllowed,
    "HL090": InvalidArgument,
    "42501": PermissionDenied,
}
# SQLSTATE classes (and psycopg's DataError, raised before sending a NUL character): data
# exceptions and "statement too complex" are bad input.
_INPUT_CLASSES = ("22", "54")
# The one classification of database errors that asking again may cure (docs/resilience.md):
# connection exceptions (08), exhausted resources (53: too many connections, out of memory or
# disk), operator intervention (57: a cancelled statement or statement_timeout 57014, a
# shutdown 57P01-57P03), deadlocks (40P01), serialization failures (40001) and lock_timeout
# (55P03). A psycopg OperationalError without a SQLSTATE is a connection lost or refused
# before the server answered; psycopg_pool's PoolTimeout (no connection in time) is one.
_TRANSIENT_CLASSES = ("08", "53", "57")
_TRANSIENT_STATES = ("40P01", "40001", "55P03")


def is_transient(exc: BaseException) -> bool:
    """True for a database error that the same call may not meet again: retry it. A failed
    connection is classified by the SQLSTATE of the server's refusal when it is known (53300:
    every slot taken; 57P03: starting or shutting down; 28P01, 3D000 ... are not transient)."""
    if isinstance(exc, ConnectFailed):
        if exc.sqlstate is None:
            return exc.__cause__ is not None and is_transient(exc.__cause__)
        state: str | None = exc.sqlstate
    elif isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:
            return isinstance(exc, psycopg.OperationalError)
    else:
        return False
    return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES


def is_connection_error(exc: BaseException) -> bool:
    """A lost, refused or unobtainable connection (class 08, a shutdown 57P, no SQLSTATE)."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, psycopg.OperationalError) and (
        exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))
    )


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
        if is_transient(exc):
            raise DatabaseUnavailable(one_line(exc)) from exc
        state = exc.sqlstate or ""
        if state == "25006":  # read_only_sql_transaction: a hot standby refuses every write
            raise ReadOnlyDatabase(f"{ReadOnlyDatabase.__doc__} ({one_line(exc)})") from exc
        error = domain_error(
            state, exc.diag.message_primary or one_line(exc), isinstance(exc, psycopg.DataError)
        )
        if error is None:
            raise
        raise error from exc


def domain_error(state: str, message: str, data_error: bool = False) -> HooklineError | None:
    """The hookline error of a SQLSTATE and its message (None: not one of ours), for errors
    raised (wrap_errors) and for errors a function returns per row (hookline.receive_many)."""
    bad_input = data_error or state.startswith(_INPUT_CLASSES)
    kind = _CODES.get(state) or (
        InvalidInput if bad_input else HooklineError if state.startswith("HL") else None
    )
    if kind is None:
        return None
    if kind is PermissionDenied:
        message += " (your role may not do this; docs/security.md lists what each role may)"
    return kind(message)
