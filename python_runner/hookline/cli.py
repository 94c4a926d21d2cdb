"""The `hookline` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from hookline import __version__
from hookline.db import resolve_dsn
from hookline.errors import HooklineError
from hookline.migrator import Migrator

dsn_option = click.option(
    "--dsn", envvar=None, help="libpq connection string; else HOOKLINE_DSN, else DATABASE_URL."
)


def fails_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One line on stderr and exit status 1 for every hookline error."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HooklineError as exc:
            click.echo(f"hookline: {exc}", err=True)
            sys.exit(1)

    return wrapper


def say(message: str) -> None:
    click.echo(message)


@click.group()
@click.version_option(__version__, prog_name="hookline")
def main() -> None:
    """hookline: durable WhatsApp webhooks on PostgreSQL."""


@main.group()
def db() -> None:
    """Deploy, revert, verify and inspect the schema."""


@db.command()
@dsn_option
@click.option("--to", "to", metavar="CHANGE", help="Stop after this change of the plan.")
@fails_cleanly
def deploy(dsn: str | None, to: str | None) -> None:
    """Deploy pending changes, then (re-)apply changed functions."""
    done = Migrator(resolve_dsn(dsn), say=say).deploy(to)
    if not done:
        click.echo("nothing to deploy: the database is up to date")


@db.command()
@dsn_option
@click.option("--to", "to", metavar="CHANGE", help="Keep this change and those before it.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@fails_cleanly
def revert(dsn: str | None, to: str | None, yes: bool) -> None:
    """Revert deployed changes, newest first (all of them without --to)."""
    migrator = Migrator(resolve_dsn(dsn), say=say)
    if not yes:
        if not sys.stdin.isatty():
            raise HooklineError("refusing to revert without -y (no terminal to confirm on)")
        target = f"to {to}" if to else "every change"
        click.confirm(f"Revert {target}? Data in reverted tables is lost.", abort=True)
    if not migrator.revert(to):
        click.echo("nothing to revert")


@db.command()
@dsn_option
@fails_cleanly
def verify(dsn: str | None) -> None:
    """Run the verify script of every deployed change."""
    results = Migrator(resolve_dsn(dsn)).verify()
    for name, error in results:
        click.echo(f"{'ok' if error is None else 'FAIL'}  {name}" + (f": {error}" if error else ""))
    if any(error for _n, error in results):
        sys.exit(1)
    if not results:
        click.echo("nothing deployed")


@db.command()
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fails_cleanly
def status(dsn: str | None, as_json: bool) -> None:
    """Show deployed and pending changes, drift and function state."""
    st = Migrator(resolve_dsn(dsn)).status()
    if as_json:
        click.echo(json.dumps(st.__dict__, indent=2))
        return
    last = st.deployed[-1] if st.deployed else None
    click.echo(
        f"deployed: {len(st.deployed)} change(s)"
        + (f", last {last[0]} at {last[1]}" if last else "")
    )
    click.echo(f"pending:  {', '.join(st.pending) or 'none'}")
    if st.drifted:
        click.echo(f"DRIFT:    deployed script changed since: {', '.join(st.drifted)}")
    if st.unknown:
        click.echo(f"UNKNOWN:  deployed but not in the plan: {', '.join(st.unknown)}")
    click.echo(f"functions to apply: {', '.join(st.functions_pending) or 'none'}")
    if st.functions_orphaned:
        click.echo(f"orphaned functions (file gone): {', '.join(st.functions_orphaned)}")


@db.command("plan")
@fails_cleanly
def plan_cmd() -> None:
    """List the changes of the plan, in order."""
    from hookline.paths import data_dir
    from hookline.plan import read_plan

    for change in read_plan(data_dir("migrations")).changes:
        deps = f" [{' '.join(change.requires)}]" if change.requires else ""
        tags = f" {' '.join(change.tags)}" if change.tags else ""
        click.echo(f"{change.name}{deps}{tags}  # {change.note}")


def default_data_dir() -> Path:
    if os.geteuid() == 0:  # root's home is closed to the postgres user that runs the server
        return Path("/var/lib/hookline")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hookline"


@main.command()
@dsn_option
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    help="Where the private server keeps its data (default: per-user data folder).",
)  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=54329, show_default=True)
@fails_cleanly
def up(dsn: str | None, data_dir: Path | None, port: int) -> None:
    """Start a private PostgreSQL and a runner (with --dsn: only deploy); stay up until Ctrl-C."""
    from hookline.embedded import private_server

    if dsn or os.environ.get("HOOKLINE_DSN") or os.environ.get("DATABASE_URL"):
        Migrator(resolve_dsn(dsn), say=say).deploy()
        click.echo("schema deployed")
        return
    with private_server(data_dir or default_data_dir(), port) as server_dsn:
        Migrator(server_dsn, say=say).deploy()
        # Started before wait_for_signal blocks signals: a child inherits the signal mask.
        runner = subprocess.Popen([sys.executable, "-m", "hookline", "runner", "--dsn", server_dsn])
        try:
            click.echo(f"hookline is up. Database: {server_dsn}")
            click.echo(f'  psql "{server_dsn}"')
            click.echo(f"A runner (pid {runner.pid}) delivers to the endpoints. Ctrl-C stops both.")
            wait_for_signal()
        finally:
            runner.terminate()
            runner.wait()


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    click.echo("stopping")


# Delivery commands live in their own module; registered here so `hookline` has them.
from hookline.delivery_commands import endpoints, runner, subscriptions  # noqa: E402

main.add_command(runner)
main.add_command(endpoints)
main.add_command(subscriptions)
