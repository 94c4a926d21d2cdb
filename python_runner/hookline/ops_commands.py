"""`hookline dlq ...`, `hookline stats`, `hookline audit ...` and `hookline tenants ...`.

Operators' commands read the masked views (hookline.dead_letter_queue, hookline.attempt_log,
hookline.event_log, hookline.audit_trail) and act through hookline.replay and hookline.discard,
which scope every id to the caller's tenants and write the audit rows. Bulk work goes in
chunks, one transaction each, so a long replay can stop anywhere and be run again.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hookline import queries
from hookline.cli import dsn_option, fails_cleanly
from hookline.db import connect, resolve_dsn
from hookline.delivery_commands import _call, _print_rows, json_option
from hookline.errors import HooklineError, NotInDeadLetterQueue, wrap_errors

DLQ_COLUMNS = ["delivery_id", "tenant", "endpoint", "event_type", "state", "error_class",
               "attempts", "finished_at", "replayable", "reason"]  # fmt: skip


TIME = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
FILTERS = ("tenant", "endpoint", "event_type", "since", "until", "error_class", "state")


def filter_options(fn: Any) -> Any:
    for option in reversed([
        click.option("--tenant", help="Only this tenant's."),
        click.option("--endpoint", help="Only this endpoint's."),
        click.option("--event-type", help="Only this event type; * matches any text (whatsapp.message.*)."),
        click.option("--since", type=TIME, help="Only those that ended at or after this time (UTC)."),
        click.option("--until", type=TIME, help="Only those that ended before this time (UTC)."),
        click.option("--error-class", help="http_<status>, timeout, connect, network, refused, discarded."),
        click.option("--state", type=click.Choice(["dead", "discarded"]), help="Only dead or only discarded."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn


def _utc(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def _filters(kw: dict[str, Any], after: int = 0) -> dict[str, Any]:
    found = {k: kw.get(k) for k in FILTERS}
    return {**found, "since": _utc(found["since"]), "until": _utc(found["until"]), "after": after}


def _has_filter(kw: dict[str, Any]) -> bool:
    return any(kw.get(k) for k in FILTERS)


@click.group()
def dlq() -> None:
    """List, inspect, replay and discard dead deliveries (the dead-letter queue)."""


@dlq.command("list")
@dsn_option
@filter_options
@click.option(
    "--after", type=click.IntRange(0), default=0, help="Start after this delivery id (paging)."
)
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option(
    "--replayable", is_flag=True,
    help="Only those whose event is still stored (retention has not dropped its day): what "
    "`dlq replay` would resend.",
)  # fmt: skip
@json_option
@fails_cleanly
def dlq_list(dsn: str | None, after: int, limit: int, replayable: bool, as_json: bool, **kw: Any) -> None:  # fmt: skip
    """List dead and discarded deliveries, oldest id first, and whether each is replayable
    (its event still stored); prints the next page's --after."""
    rows = _call(
        dsn, queries.DLQ_LIST, {**_filters(kw, after), "limit": limit, "replayable": replayable}
    )
    _print_rows(rows, as_json, DLQ_COLUMNS)
    if len(rows) == limit and not as_json:
        click.echo(f"more: --after {rows[-1]['delivery_id']}", err=True)


@dlq.command("show")
@dsn_option
@click.argument("delivery_id", type=click.IntRange(1))
@json_option
@fails_cleanly
def dlq_show(dsn: str | None, delivery_id: int, as_json: bool) -> None:
    """One dead delivery: why, its attempts and its (masked) event."""
    rows = _call(dsn, queries.DLQ_SHOW, {"id": delivery_id})
    if not rows:
        raise NotInDeadLetterQueue(f"not in the dead-letter queue: {delivery_id}")
    row = rows[0]
    event = _call(
        dsn,
        queries.DLQ_EVENT,
        {"event_id": row["event_id"], "received_at": row["event_received_at"]},
    )
    row |= (
        event[0] if event else {"payload": None, "source": None, "external_id": None, "wa_id": None}
    )
    row["attempts"] = _call(dsn, queries.DLQ_ATTEMPTS, {"id": delivery_id})
    if as_json:
        click.echo(json.dumps(row, indent=2, default=str))
        return
    for key, value in row.items():
        if key not in ("attempts", "payload"):
            click.echo(f"{key}: {value if value is not None else ''}")
    click.echo(f"payload (masked): {json.dumps(row['payload'])}")
    click.echo("attempts:")
    _print_rows(row["attempts"], False, ["attempted_at", "generation", "attempt_number",
                                         "status_code", "error_class", "outcome", "response_excerpt"])  # fmt: skip


def _bulk(dsn: str | None, action: str, ids: tuple[int, ...], kw: dict[str, Any], reason: str,
          chunk: int, dry_run: bool) -> None:  # fmt: skip
    """Replay or discard ids, or every row matching the filters, chunk by chunk."""
    if ids and _has_filter(kw):
        raise click.UsageError("give delivery ids or filters, not both")
    if not ids and not _has_filter(kw) and not kw.get("all"):
        raise click.UsageError("give delivery ids, filters, or --all")
    if not reason.strip():
        raise click.UsageError("--reason must not be empty")
    query = queries.REPLAY if action == "replay" else queries.DISCARD
    params = _filters({**kw, "state": "dead" if action == "discard" else kw.get("state")})
    # The audit rows name the filter instead of listing every id.
    audit_filter = None if ids else Jsonb({k: v for k, v in params.items() if v and k != "after"})
    done = 0
    already: list[int] = []
    with connect(resolve_dsn(dsn), autocommit=True) as conn, wrap_errors():
        cur = conn.cursor(row_factory=dict_row)
        if dry_run:
            if ids:
                click.echo(f"would {action} {len(ids)} deliveries: {', '.join(map(str, ids))}")
                return
            counts = cur.execute(
                queries.DLQ_COUNT, {**params, "limit": None, "replayable": False}
            ).fetchone()
            expired = counts["expired"] if action == "replay" else 0
            click.echo(f"would {action} {counts['matching'] - expired} deliveries"
                       + (f" ({expired} skipped: their events are gone)" if expired else ""))  # fmt: skip
            return
        pending = list(ids)
        while True:
            if ids:
                batch, pending = pending[:chunk], pending[chunk:]
            else:
                cur.execute(
                    queries.DLQ_CHUNK, {**params, "limit": chunk, "replayable": action == "replay"}
                )
                batch = [r["delivery_id"] for r in cur.fetchall()]
            if not batch:
                break
            changed = [
                r["delivery_id"]
                for r in cur.execute(
                    query, {"ids": batch, "reason": reason, "filter": audit_filter}
                )
            ]
            done += len(changed)
            already += sorted(set(batch) - set(changed))
            click.echo(
                f"{action}ed {len(changed)} (ids {batch[0]}..{batch[-1]}); total {done}", err=True
            )
            if not ids:
                params["after"] = batch[-1]
    if already:
        message = f"already discarded, left as they were: {', '.join(map(str, already))}"
        if not done:
            raise HooklineError(f"nothing discarded; {message}")
        click.echo(message, err=True)
    click.echo(f"{action}ed {done} deliveries")


def bulk_options(fn: Any) -> Any:
    for option in reversed([
        click.argument("delivery_ids", nargs=-1, type=click.IntRange(1)),
        filter_options,
        click.option("--all", "all", is_flag=True, help="Every row of the dead-letter queue (that you may see)."),
        click.option("--reason", required=True, help="Why; recorded in the audit log."),
        click.option("--chunk", type=click.IntRange(1, 5000), default=500, show_default=True,
                     help="Deliveries per transaction."),
        click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn


@dlq.command("replay")
@dsn_option
@bulk_options
@fails_cleanly
def dlq_replay(dsn: str | None, delivery_ids: tuple[int, ...], reason: str, chunk: int,
               dry_run: bool, **kw: Any) -> None:  # fmt: skip
    """Replay DELIVERY_IDS, or every delivery matching the filters, in chunks (resumable: run
    it again after an interruption; replayed deliveries have left the queue)."""
    _bulk(dsn, "replay", delivery_ids, kw, reason, chunk, dry_run)


@dlq.command("discard")
@dsn_option
@bulk_options
@fails_cleanly
def dlq_discard(dsn: str | None, delivery_ids: tuple[int, ...], reason: str, chunk: int,
                dry_run: bool, **kw: Any) -> None:  # fmt: skip
    """Discard DELIVERY_IDS (live or dead), or every dead delivery matching the filters."""
    _bulk(dsn, "discard", delivery_ids, kw, reason, chunk, dry_run)


# --- stats ------------------------------------------------------------------------------


@click.command()
@dsn_option
@json_option
@fails_cleanly
def stats(dsn: str | None, as_json: bool) -> None:
    """Queue depth by state, the oldest due delivery, throughput and the top failing endpoints."""
    (row,) = _call(dsn, queries.STATS, {})
    data = row["jsonb_build_object"]
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    queue = ", ".join(f"{k} {v}" for k, v in sorted(data["queue"].items())) or "empty"
    dead = ", ".join(f"{k} {v}" for k, v in sorted(data["dlq"].items())) or "empty"
    click.echo(f"queue:                 {queue}")
    click.echo(f"dead-letter queue:     {dead}")
    click.echo(f"oldest due:            {data['oldest_due_at'] or 'none overdue'}")
    click.echo(
        f"deliveries per minute: {data['deliveries_per_minute']} (attempts {data['attempts_per_minute']}; last 15 min)"
    )
    circuits = ", ".join(f"{k} {v}" for k, v in sorted(data["circuits"].items())) or "none"
    click.echo(f"circuits:              {circuits}")
    undelivered = ", ".join(f"{k} {v}" for k, v in sorted(data["undelivered_alerts"].items()))
    click.echo(f"undelivered alerts:    {undelivered or 'none'}")
    stale = "; ".join(
        f"{j['job_name']} (runs in {j['runs_in']}, every {j['expected_every']}; no scheduled "
        f"success since {j['last_succeeded_at'] or 'it was scheduled'})"
        for j in data["stale_jobs"]
    )
    click.echo(f"stale jobs:            {stale or 'none'}")
    click.echo("top failing endpoints (last hour):")
    _print_rows(data["top_failing_endpoints"], False,
                ["endpoint", "tenant", "state", "failures_last_hour", "dead_letters"])  # fmt: skip


# --- audit ------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """Read the audit log and check its hash chain."""


ANCHOR = re.compile(r"^#(?P<id>[0-9]+) sha256:(?P<hash>[0-9a-f]{64}) rows=[0-9]+ at=\S+$")


def read_anchors(path: Path) -> dict[int, str]:
    """The anchors `hookline audit anchor` appended to the file: audit id -> hash."""
    anchors = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = ANCHOR.match(line.strip())
        if not m:
            raise HooklineError(f"{path} line {n}: not an audit anchor")
        anchors[int(m["id"])] = m["hash"]
    return anchors


@audit.command("verify")
@dsn_option
@click.option("--against", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also check the anchors `hookline audit anchor` wrote to this file.")  # fmt: skip
@json_option
@fails_cleanly
def audit_verify(dsn: str | None, against: Path | None, as_json: bool) -> None:
    """Check every row's hash and its link to the previous row, and with --against that every
    anchored row is still there with the anchored hash; exit 1 on any problem."""
    anchors = read_anchors(against) if against else {}
    problems = _call(dsn, queries.AUDIT_VERIFY, {})
    (head,) = _call(dsn, queries.AUDIT_HEAD, {})
    count, newest, digest = head["count"], head["max"], head["encode"]
    now = {
        r["audit_id"]: r["hash"] for r in _call(dsn, queries.AUDIT_HASHES, {"ids": list(anchors)})
    }
    for audit_id, anchored in sorted(anchors.items()):
        if audit_id not in now:
            problems.append(
                {"audit_id": audit_id, "problem": "anchored, and gone (rows were deleted)"}
            )
        elif now[audit_id] != anchored:
            problems.append(
                {
                    "audit_id": audit_id,
                    "problem": "its hash differs from the anchor (rows up to it were rewritten)",
                }
            )
    if as_json:
        shape = {"intact": not problems, "rows": count, "newest_audit_id": newest,
                 "newest_sha256": digest, "problems": problems}  # fmt: skip
        click.echo(json.dumps(shape, indent=2, default=str))
        if problems:
            sys.exit(1)
        return
    for p in problems:
        click.echo(f"audit row {p['audit_id']}: {p['problem']}")
    if problems:
        raise HooklineError(f"the audit log was tampered with: {len(problems)} problem(s)")
    checked = f"; {len(anchors)} anchor(s) match" if against else ""
    click.echo(f"audit log intact: {count} rows; newest #{newest} sha256 {digest}{checked}")


@audit.command("anchor")
@dsn_option
@click.option("--to", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Append the anchor to this file (keep it where the database's superuser cannot write).")  # fmt: skip
@fails_cleanly
def audit_anchor(dsn: str | None, path: Path) -> None:
    """Check the chain, then append its head (newest id and hash) to a file outside the
    database; `audit verify --against FILE` later proves no row up to it changed."""
    if _call(dsn, queries.AUDIT_VERIFY, {}):
        raise HooklineError(
            "the audit chain does not verify; `hookline audit verify` names the rows"
        )
    (head,) = _call(dsn, queries.AUDIT_HEAD, {})
    if head["max"] is None:
        raise HooklineError("the audit log is empty: nothing to anchor")
    line = (f"#{head['max']} sha256:{head['encode']} rows={head['count']} "
            f"at={datetime.now(UTC).isoformat(timespec='seconds')}")  # fmt: skip
    with path.open("a") as f:
        f.write(line + "\n")
    click.echo(line)


@audit.command("list")
@dsn_option
@click.option("--tenant")
@click.option("--action", help="e.g. delivery.replay, endpoints.update.")
@click.option(
    "--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
)
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@json_option
@fails_cleanly
def audit_list(dsn: str | None, tenant: str | None, action: str | None, since: datetime | None,
               limit: int, as_json: bool) -> None:  # fmt: skip
    """The newest audit rows of your tenants, newest first."""
    rows = _call(dsn, queries.AUDIT_LIST, {
        "tenant": tenant, "action": action, "since": since.isoformat() + "Z" if since else None,
        "limit": limit,
    })  # fmt: skip
    if not as_json:
        for r in rows:
            r["target"] = json.dumps(r["target"])
    _print_rows(rows, as_json, ["audit_id", "recorded_at", "acting_role", "action", "tenant",
                                "target", "reason"])  # fmt: skip


# --- tenants ----------------------------------------------------------------------------


@click.group()
def tenants() -> None:
    """Map roles to tenants (owner only) and set a tenant's dead-letter retention."""


@tenants.command("grant")
@dsn_option
@click.argument("role")
@click.argument("tenant")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def tenants_grant(dsn: str | None, role: str, tenant: str, reason: str | None) -> None:
    """Let ROLE (and every role with its privileges) see and act on TENANT's rows."""
    (row,) = _call(dsn, queries.GRANT_TENANT, {"role": role, "tenant": tenant, "reason": reason})
    click.echo(f"{role} acts for {tenant}" + ("" if row["grant_tenant"] else " (already did)"))


@tenants.command("revoke")
@dsn_option
@click.argument("role")
@click.argument("tenant")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def tenants_revoke(dsn: str | None, role: str, tenant: str, reason: str | None) -> None:
    """Take TENANT away from ROLE."""
    (row,) = _call(dsn, queries.REVOKE_TENANT, {"role": role, "tenant": tenant, "reason": reason})
    click.echo(
        f"{role} no longer acts for {tenant}" + ("" if row["revoke_tenant"] else " (it did not)")
    )


@tenants.command("allow-http")
@dsn_option
@click.argument("tenant")
@click.option("--off", is_flag=True, help="Back to https only (and http to loopback).")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def tenants_allow_http(dsn: str | None, tenant: str, off: bool, reason: str | None) -> None:
    """Let TENANT's endpoints use plain http to any host (checked when an endpoint is added)."""
    _call(dsn, queries.ALLOW_HTTP, {"tenant": tenant, "allowed": not off, "reason": reason})
    click.echo(f"{tenant}: {'https only' if off else 'http allowed'}")


@tenants.command("dead-letter-retention")
@dsn_option
@click.argument("tenant")
@click.argument("retention")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def tenants_dead_letter_retention(dsn: str | None, tenant: str, retention: str,
                                  reason: str | None) -> None:  # fmt: skip
    """Keep TENANT's dead letters for RETENTION after they ended (e.g. '14 days'; default 30
    days); the job prune_dead_letters deletes older ones."""
    (row,) = _call(dsn, queries.SET_DEAD_LETTER_RETENTION,
                   {"tenant": tenant, "retention": retention, "reason": reason})  # fmt: skip
    click.echo(f"{tenant}: dead letters kept {row['retention']}")
