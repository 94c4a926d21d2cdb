"""`hookline runner`, `hookline endpoints ...` and `hookline subscriptions ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg.rows import dict_row

from hookline import queries
from hookline.cli import (
    database_wait_option,
    dsn_option,
    fails_cleanly,
    metrics_options,
    read_secret,
    reason_option,
    run_sql,
    secret_options,
)
from hookline.db import LISTEN_DSN_VARIABLE, check_runner_dsns, resolve_dsn
from hookline.errors import UnknownEndpoint
from hookline.migrator import Migrator
from hookline.netguard import DEFAULT_ALLOWED, parse_networks
from hookline.sealing import new_signing_secret, opener, sealer

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _call(
    dsn: str | None, query: Any, params: dict[str, Any], *, reason: str | None = None
) -> list[dict[str, Any]]:
    return run_sql(dsn, query, params, reason=reason, row_factory=dict_row)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("none")
        return
    widths = {
        c: max(len(c), *(len(str(r[c] if r[c] is not None else "")) for r in rows)) for c in columns
    }
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo(
            "  ".join(
                str(r[c] if r[c] is not None else "").ljust(widths[c]) for c in columns
            ).rstrip()
        )


# --- runner -----------------------------------------------------------------------------


@click.command()
@dsn_option
@click.option("--listen-dsn", envvar=LISTEN_DSN_VARIABLE, metavar="DSN",
              help="A session connection for LISTEN (PostgreSQL itself, not a transaction "
              "pooler; default: --dsn). See docs/scaling.md.")  # fmt: skip
@click.option("--name", help="Runner name recorded with leases and attempts (default: host-pid).")
@click.option("--concurrency", type=click.IntRange(1, 10000), default=32, show_default=True,
              help="Most requests in flight at once.")  # fmt: skip
@click.option("--batch", type=click.IntRange(1, 10000), default=32, show_default=True,
              help="Most deliveries claimed per round trip (during a backlog, up to "
              "--concurrency when that is larger).")  # fmt: skip
@click.option("--lease", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Lease in seconds (at least each endpoint's timeout + 1 s).")  # fmt: skip
@click.option("--poll", type=click.FloatRange(0.1, 600), default=5.0, show_default=True,
              help="Safety-net poll interval in seconds.")  # fmt: skip
@click.option("--grace", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
              help="On SIGTERM/SIGINT, seconds to let requests finish.")  # fmt: skip
@click.option("--graph-url", envvar="HOOKLINE_GRAPH_URL", default="https://graph.facebook.com",
              show_default=True, help="Base URL of the WhatsApp Cloud (Graph) API.")  # fmt: skip
@click.option("--graph-version", envvar="HOOKLINE_GRAPH_VERSION", default="v25.0",
              show_default=True, help="Graph API version in the send URL.")  # fmt: skip
@click.option("--allow-network", "allow_networks", multiple=True, metavar="CIDR",
              envvar="HOOKLINE_ALLOW_NETWORKS", help="Networks endpoints may resolve to (repeat; "
              "env: comma-separated). Default: loopback, 10/8, 172.16/12, 192.168/16, fc00::/7. "
              "Link-local and metadata addresses are always refused.")  # fmt: skip
@database_wait_option
@metrics_options(9465)
@fails_cleanly
def runner(dsn: str | None, listen_dsn: str | None, name: str | None, concurrency: int,
           batch: int, lease: float, poll: float, grace: float, graph_url: str, graph_version: str,
           allow_networks: tuple[str, ...], database_wait: float, metrics_host: str,
           metrics_port: int, log_format: str) -> None:  # fmt: skip
    """Deliver due deliveries to their endpoints and send the WhatsApp outbox, until SIGTERM
    or SIGINT."""
    from hookline import runner as runner_module
    from hookline.resilience import at_start

    networks = tuple(n for value in allow_networks for n in value.split(",") if n.strip())
    try:
        parse_networks(networks)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-network") from exc
    dsn = resolve_dsn(dsn)

    def checks() -> None:
        Migrator(dsn).require_current()
        check_runner_dsns(dsn, listen_dsn)

    at_start(checks, [dsn, listen_dsn] if listen_dsn else [dsn], database_wait)

    settings = runner_module.Settings(
        dsn=dsn, name=name or runner_module.default_name(), concurrency=concurrency, batch=batch,
        lease_s=lease, poll_s=poll, grace_s=grace, graph_url=graph_url, graph_version=graph_version,
        allowed_networks=networks or DEFAULT_ALLOWED, listen_dsn=listen_dsn,
        metrics_host=metrics_host, metrics_port=metrics_port, log_format=log_format,
    )  # fmt: skip
    runner_module.run(settings)


# --- endpoints --------------------------------------------------------------------------


@click.group()
def endpoints() -> None:
    """Add, list, pause, resume and remove the handlers that receive deliveries."""


ENDPOINT_COLUMNS = [
    "id",  # breakers set endpoint:<id> takes it
    "name",
    "tenant",
    "state",
    "url",
    "max_in_flight",
    "live_deliveries",
    "dead_letters",
]


@endpoints.command("add")
@dsn_option
@click.argument("name")
@click.option("--tenant", required=True, help="Owning tenant.")
@click.option("--url", required=True, help="http(s) URL to POST deliveries to.")
@secret_options
@click.option("--timeout-ms", type=int, default=10000, show_default=True)
@click.option("--max-in-flight", type=int, default=10, show_default=True)
@click.option("--retry-schedule", metavar="INTERVALS",
              help="Comma-separated PostgreSQL intervals, e.g. '1 minute,10 minutes,1 hour'; "
                   "an empty string means no retries. Default: 1 min, 10 min, 1 h, 4 h, 12 h.")  # fmt: skip
@click.option("--retry-client-errors", is_flag=True, help="Retry 4xx answers (except 410) too.")
@reason_option
@json_option
@fails_cleanly
def endpoints_add(dsn: str | None, name: str, tenant: str, url: str, secret_file: Path | None,
                  secret_env: str | None, timeout_ms: int, max_in_flight: int,
                  retry_schedule: str | None, retry_client_errors: bool, reason: str | None,
                  as_json: bool) -> None:  # fmt: skip
    """Add endpoint NAME; prints its signing secret when it generated it.

    The Standard Webhooks secret (whsec_...) is generated, or read from --secret-file or
    --secret-env: never from the command line, and then never printed."""
    given = read_secret(secret_file, secret_env, "secret", stdin=False)
    row = _call_with_schedule(dsn, queries.ADD_ENDPOINT, {
        "tenant": tenant, "name": name, "url": url, "signing_secret": given or new_signing_secret(),
        "timeout_ms": timeout_ms, "max_in_flight": max_in_flight, "retry_schedule": retry_schedule,
        "is_retrying_client_errors": retry_client_errors,
    }, reason=reason)[0]  # fmt: skip
    # A generated secret is shown once; one the operator gave is never printed back.
    shown = {"signing_secret": sealer().open(row["secret"])} if given is None else {}
    if as_json:
        click.echo(json.dumps({"name": name, "endpoint_id": row["endpoint_id"], **shown}))
    elif shown:
        click.echo(f"endpoint {name} added; signing secret: {shown['signing_secret']}")
    else:
        click.echo(f"endpoint {name} added")


def _call_with_schedule(
    dsn: str | None, query: Any, params: dict[str, Any], *, reason: str | None = None
) -> list[dict[str, Any]]:
    """--retry-schedule's comma-separated intervals as an array ('' = no retries)."""
    schedule = params["retry_schedule"]
    if schedule is not None:
        params = {**params, "retry_schedule": [p.strip() for p in schedule.split(",") if p.strip()]}
    try:
        return _call(dsn, query, params, reason=reason)
    except psycopg.errors.InvalidDatetimeFormat as exc:
        raise click.UsageError(f"--retry-schedule: {exc.diag.message_primary}") from exc


@endpoints.command("set")
@dsn_option
@click.argument("name")
@click.option("--url", help="New http(s) URL (the rules of endpoints add).")
@click.option("--timeout-ms", type=int, help="Request timeout, 100..300000.")
@click.option("--max-in-flight", type=int, help="Concurrency limit across runners, 1..10000.")
@click.option("--retry-schedule", metavar="INTERVALS",
              help="Comma-separated PostgreSQL intervals; an empty string means no retries.")  # fmt: skip
@click.option("--reason", default="changed by an operator", show_default=True,
              help="Recorded in the audit log.")  # fmt: skip
@json_option
@fails_cleanly
def endpoints_set(dsn: str | None, name: str, url: str | None, timeout_ms: int | None,
                  max_in_flight: int | None, retry_schedule: str | None, reason: str,
                  as_json: bool) -> None:  # fmt: skip
    """Change endpoint NAME's URL, timeout, concurrency limit or retry schedule (audited)."""
    if url is None and timeout_ms is None and max_in_flight is None and retry_schedule is None:
        raise click.UsageError(
            "give at least one of --url, --timeout-ms, --max-in-flight, --retry-schedule"
        )
    _call_with_schedule(dsn, queries.SET_ENDPOINT, {
        "name": name, "url": url, "timeout_ms": timeout_ms, "max_in_flight": max_in_flight,
        "retry_schedule": retry_schedule, "reason": reason,
    }, reason=reason)  # fmt: skip
    _echo_endpoint(_call(dsn, queries.ENDPOINTS, {"name": name})[0], as_json)


def _echo_endpoint(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(row, indent=2, default=str))
        return
    for key, value in row.items():
        click.echo(f"{key}: {value if value is not None else ''}")


@endpoints.command("list")
@dsn_option
@json_option
@fails_cleanly
def endpoints_list(dsn: str | None, as_json: bool) -> None:
    """List the endpoints (never their secrets)."""
    rows = _call(dsn, queries.ENDPOINTS, {"name": None})
    _print_rows(rows, as_json, ENDPOINT_COLUMNS)


@endpoints.command("show")
@dsn_option
@click.argument("name")
@click.option("--reveal-secret", is_flag=True, help="Include the signing secret.")
@json_option
@fails_cleanly
def endpoints_show(dsn: str | None, name: str, reveal_secret: bool, as_json: bool) -> None:
    """Show one endpoint's settings and queue counts."""
    rows = _call(dsn, queries.ENDPOINTS, {"name": name})
    if not rows:
        raise UnknownEndpoint(f"unknown endpoint {name!r}")
    row = rows[0]
    if reveal_secret:
        secret = _call(dsn, queries.ENDPOINT_SECRET, {"name": name})[0]
        row.update({k: opener()(v) for k, v in secret.items()})  # stored sealed
    _echo_endpoint(row, as_json)


@endpoints.command("pause")
@dsn_option
@click.argument("name")
@click.option("--reason", default="paused by an operator", show_default=True)
@fails_cleanly
def endpoints_pause(dsn: str | None, name: str, reason: str) -> None:
    """Stop delivering to NAME; its deliveries wait."""
    rows = _call(dsn, queries.PAUSE_ENDPOINT, {"name": name, "reason": reason})
    click.echo(f"endpoint {name}: {rows[0]['pause_endpoint']}")


@endpoints.command("resume")
@dsn_option
@click.argument("name")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def endpoints_resume(dsn: str | None, name: str, reason: str | None) -> None:
    """Deliver to NAME again; waiting deliveries flow."""
    rows = _call(dsn, queries.RESUME_ENDPOINT, {"name": name, "reason": reason})
    click.echo(f"endpoint {name}: {rows[0]['resume_endpoint']}")


@endpoints.command("remove")
@dsn_option
@click.argument("name")
@reason_option
@fails_cleanly
def endpoints_remove(dsn: str | None, name: str, reason: str | None) -> None:
    """Remove NAME and its subscriptions (refused while it has deliveries)."""
    _call(dsn, queries.REMOVE_ENDPOINT, {"name": name}, reason=reason)
    click.echo(f"endpoint {name} removed")


# --- subscriptions ----------------------------------------------------------------------


@click.group()
def subscriptions() -> None:
    """Choose which event types (and sources) an endpoint receives."""


@subscriptions.command("add")
@dsn_option
@click.argument("endpoint")
@click.argument("pattern")
@click.option("--source", help="Only events of this source (default: every source of the tenant).")
@reason_option
@json_option
@fails_cleanly
def subscriptions_add(dsn: str | None, endpoint: str, pattern: str, source: str | None,
                      reason: str | None, as_json: bool) -> None:  # fmt: skip
    """Subscribe ENDPOINT to event types matching PATTERN (e.g. 'whatsapp.message.*')."""
    params = {"endpoint": endpoint, "pattern": pattern, "source": source}
    rows = _call(dsn, queries.ADD_SUBSCRIPTION, params, reason=reason)
    sub_id = rows[0]["add_subscription"]
    if as_json:
        click.echo(
            json.dumps({"id": sub_id, "endpoint": endpoint, "pattern": pattern, "source": source})
        )
    else:
        click.echo(
            f"subscription {sub_id}: {endpoint} receives {pattern}"
            + (f" from {source}" if source else "")
        )


@subscriptions.command("list")
@dsn_option
@click.option("--endpoint", help="Only this endpoint's.")
@json_option
@fails_cleanly
def subscriptions_list(dsn: str | None, endpoint: str | None, as_json: bool) -> None:
    """List subscriptions."""
    rows = _call(dsn, queries.SUBSCRIPTIONS, {"endpoint": endpoint})
    _print_rows(rows, as_json, ["id", "endpoint", "pattern", "source", "tenant"])


@subscriptions.command("remove")
@dsn_option
@click.argument("subscription_id", type=int)
@reason_option
@fails_cleanly
def subscriptions_remove(dsn: str | None, subscription_id: int, reason: str | None) -> None:
    """Remove a subscription by id."""
    _call(dsn, queries.REMOVE_SUBSCRIPTION, {"id": subscription_id}, reason=reason)
    click.echo(f"subscription {subscription_id} removed")
