"""`hookline endpoints set`: an operator changes an endpoint of its tenants through
hookline.set_endpoint, audited; bad values and other tenants' endpoints change nothing."""

from __future__ import annotations

import json

import psycopg

from tests.helpers import hookline
from tests.security.conftest import Tenants, as_role


def endpoint(db: str, name: str) -> tuple:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "select url, timeout_ms, max_in_flight, retry_schedule::text[] from hookline.endpoints"
            " where name = %s",
            (name,),
        ).fetchone()


def test_an_operator_changes_its_endpoint_and_it_is_audited(db: str, two_tenants: Tenants) -> None:
    alice = as_role(db, "alice")
    run = hookline(
        "endpoints", "set", "acme-crm", "--url", "https://crm.acme.invalid/v2", "--timeout-ms", "2500",
        "--max-in-flight", "3", "--retry-schedule", "30 seconds,5 minutes", "--reason", "INC-9 new host",
        "--json", "--dsn", alice,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert (shown["url"], shown["timeout_ms"], shown["max_in_flight"]) == (
        "https://crm.acme.invalid/v2", 2500, 3)  # fmt: skip
    assert isinstance(shown["id"], int), "the id breakers set endpoint:<id> needs"
    assert endpoint(db, "acme-crm") == (
        "https://crm.acme.invalid/v2",
        2500,
        3,
        ["00:00:30", "00:05:00"],
    )
    with psycopg.connect(db) as conn:
        audit = conn.execute(
            "select acting_role, reason, before ->> 'timeout_ms', after ->> 'timeout_ms'"
            " from hookline.audit_log where action = 'endpoints.update' order by audit_id desc limit 1"
        ).fetchone()
    assert audit == ("alice", "INC-9 new host", "10000", "2500")
    only_timeout = hookline("endpoints", "set", "acme-crm", "--timeout-ms", "4000", "--dsn", alice)
    assert only_timeout.returncode == 0, only_timeout.stderr
    assert endpoint(db, "acme-crm")[:3] == ("https://crm.acme.invalid/v2", 4000, 3), "the rest kept"


def test_bad_values_and_other_tenants_endpoints_change_nothing(
    db: str, two_tenants: Tenants
) -> None:
    alice = as_role(db, "alice")
    before = endpoint(db, "acme-crm"), endpoint(db, "globex-crm")
    for args, message in (
        (["acme-crm", "--timeout-ms", "5"], "invalid endpoint setting: endpoints_timeout_ms_range"),
        (["acme-crm", "--url", "ftp://x"], "invalid URL 'ftp://x'"),
        (["acme-crm", "--url", "http://crm.acme.invalid/"], "plain http is not allowed for tenant 'acme'"),
        (["acme-crm", "--retry-schedule", "soon"], 'invalid input syntax for type interval: "soon"'),
        (["globex-crm", "--timeout-ms", "5000"], "unknown endpoint 'globex-crm'"),
        (["acme-crm"], "give at least one of"),
    ):  # fmt: skip
        run = hookline("endpoints", "set", *args, "--dsn", alice)
        assert run.returncode != 0, args
        assert message in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr
    assert (endpoint(db, "acme-crm"), endpoint(db, "globex-crm")) == before
    reader = hookline(
        "endpoints", "set", "acme-crm", "--timeout-ms", "5000", "--dsn", as_role(db, "reader")
    )
    assert reader.returncode == 1 and reader.stderr.startswith("hookline: permission denied")
