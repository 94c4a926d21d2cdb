"""`hookline senders ...` and `hookline breakers ...`: the outbound WhatsApp numbers and the
circuit breakers of every send target."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from hookline import queries
from hookline.cli import dsn_option, fails_cleanly, read_secret, reason_option
from hookline.delivery_commands import _call, _print_rows, json_option


@click.group()
def senders() -> None:
    """Add, change, list, pause and resume the WhatsApp numbers that send the outbox."""


def token_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--token-env", metavar="VAR",
                      help="Read the access token from this environment variable.")(fn)  # fmt: skip
    return click.option(
        "--token-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the access token from this file (else the environment, else standard input).",
    )(fn)  # fmt: skip


def limit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--messages-per-second", type=int, help="Messages per second (default 80)."),
        click.option("--pair-interval", type=float,
                     help="Seconds between messages to one recipient (default 6)."),
        click.option("--pair-burst", type=int,
                     help="Messages to one recipient allowed at once (default 1)."),
        click.option("--unconfirmed-wait", type=float,
                     help="Seconds an ambiguous send waits for a status webhook (default 600)."),
        click.option("--timeout-ms", type=int, help="Request timeout (default 10000)."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


@senders.command("add")
@dsn_option
@click.argument("phone_number_id")
@click.option("--source", required=True, help="The whatsapp source the number belongs to.")
@token_options
@limit_options
@reason_option
@fails_cleanly
def senders_add(dsn: str | None, phone_number_id: str, source: str, token_file: Path | None,
                token_env: str | None, messages_per_second: int | None, pair_interval: float | None,
                pair_burst: int | None, unconfirmed_wait: float | None,
                timeout_ms: int | None, reason: str | None) -> None:  # fmt: skip
    """Add a sending number; its access token comes from --token-file, --token-env or stdin."""
    token = read_secret(token_file, token_env, "access token", stdin=True)
    _call(dsn, queries.ADD_SENDER, {
        "source": source, "phone_number_id": phone_number_id, "access_token": token,
        "messages_per_second": messages_per_second, "pair_interval": _seconds(pair_interval),
        "pair_burst": pair_burst, "unconfirmed_wait": _seconds(unconfirmed_wait),
        "timeout_ms": timeout_ms,
    }, reason=reason)  # fmt: skip
    click.echo(f"sender {phone_number_id} added to source {source}")


@senders.command("set")
@dsn_option
@click.argument("phone_number_id")
@click.option("--rotate-token", is_flag=True,
              help="Read a new access token (--token-file, --token-env or stdin).")  # fmt: skip
@token_options
@limit_options
@reason_option
@fails_cleanly
def senders_set(dsn: str | None, phone_number_id: str, rotate_token: bool, token_file: Path | None,
                token_env: str | None, messages_per_second: int | None, pair_interval: float | None,
                pair_burst: int | None, unconfirmed_wait: float | None,
                timeout_ms: int | None, reason: str | None) -> None:  # fmt: skip
    """Change a sender's limits, or its access token with --rotate-token."""
    token = read_secret(token_file, token_env, "access token", stdin=rotate_token)
    _call(dsn, queries.SET_SENDER, {
        "phone_number_id": phone_number_id, "access_token": token,
        "messages_per_second": messages_per_second, "pair_interval": _seconds(pair_interval),
        "pair_burst": pair_burst, "unconfirmed_wait": _seconds(unconfirmed_wait),
        "timeout_ms": timeout_ms,
    }, reason=reason)  # fmt: skip
    click.echo(f"sender {phone_number_id} changed")


@senders.command("list")
@dsn_option
@json_option
@fails_cleanly
def senders_list(dsn: str | None, as_json: bool) -> None:
    """List the senders (never their tokens)."""
    rows = _call(dsn, queries.LIST_SENDERS, {})
    columns = ["phone_number_id", "source", "state", "messages_per_second", "throttled_rate",
               "queued", "breaker", "paused_reason"]  # fmt: skip
    _print_rows(rows, as_json, columns)


@senders.command("pause")
@dsn_option
@click.argument("phone_number_id")
@click.option("--reason", default="paused by an operator", show_default=True)
@fails_cleanly
def senders_pause(dsn: str | None, phone_number_id: str, reason: str) -> None:
    """Hold a number's messages (they stay queued)."""
    _call(dsn, queries.PAUSE_SENDER, {"phone_number_id": phone_number_id, "reason": reason})
    click.echo(f"sender {phone_number_id} paused")


@senders.command("resume")
@dsn_option
@click.argument("phone_number_id")
@reason_option
@fails_cleanly
def senders_resume(dsn: str | None, phone_number_id: str, reason: str | None) -> None:
    """Let a paused number send again (after an account or auth error: once it is fixed)."""
    _call(dsn, queries.RESUME_SENDER, {"phone_number_id": phone_number_id}, reason=reason)
    click.echo(f"sender {phone_number_id} resumed")


@click.group()
def breakers() -> None:
    """Show the circuit breakers; force one open or closed, or back to automatic."""


@breakers.command("list")
@dsn_option
@json_option
@fails_cleanly
def breakers_list(dsn: str | None, as_json: bool) -> None:
    """Every breaker: target (endpoint:<id> or sender:<phone_number_id>), state, why."""
    rows = _call(dsn, queries.LIST_BREAKERS, {})
    columns = ["target", "state", "is_forced", "open_until", "window_requests",
               "window_failures", "changed_at", "reason"]  # fmt: skip
    _print_rows(rows, as_json, columns)


@breakers.command("set")
@dsn_option
@click.argument("target")
@click.argument("mode", type=click.Choice(["open", "closed", "auto"]))
@click.option("--reason", default="set by an operator", show_default=True)
@fails_cleanly
def breakers_set(dsn: str | None, target: str, mode: str, reason: str) -> None:
    """Force TARGET's breaker open or closed, or hand it back to automatic (recorded)."""
    row = _call(dsn, queries.SET_BREAKER, {"target": target, "mode": mode, "reason": reason})[0]
    forced = " (forced)" if row["is_forced"] else ""
    click.echo(f"breaker {row['target']} is {row['state']}{forced}")
