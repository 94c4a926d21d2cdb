"""`hookline endpoints ...` and `hookline subscriptions ...` as a user runs them."""

from __future__ import annotations

import json

from tests.helpers import hookline


def cli(db: str, *args: str):
    return hookline(*args, "--dsn", db)


def test_endpoints_round_trip_with_json(db: str, tenant_source: str) -> None:
    run = cli(db, "endpoints", "add", "crm", "--tenant", "acme", "--url", "https://crm.internal/hook",
              "--max-in-flight", "4", "--retry-schedule", "1 minute,5 minutes", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    added = json.loads(run.stdout)
    assert added["name"] == "crm" and added["signing_secret"].startswith("whsec_")

    listed = json.loads(cli(db, "endpoints", "list", "--json").stdout)
    assert [(e["name"], e["state"], e["max_in_flight"]) for e in listed] == [("crm", "active", 4)]
    assert "signing_secret" not in listed[0], "list never shows secrets"
    shown = json.loads(cli(db, "endpoints", "show", "crm", "--json").stdout)
    assert shown["retry_schedule"] == ["00:01:00", "00:05:00"]
    assert "signing_secret" not in shown
    revealed = json.loads(cli(db, "endpoints", "show", "crm", "--reveal-secret", "--json").stdout)
    assert revealed["signing_secret"] == added["signing_secret"]

    assert (
        cli(db, "endpoints", "pause", "crm", "--reason", "deploy").stdout
        == "endpoint crm: paused\n"
    )
    assert (
        json.loads(cli(db, "endpoints", "show", "crm", "--json").stdout)["paused_reason"]
        == "deploy"
    )
    assert cli(db, "endpoints", "resume", "crm").stdout == "endpoint crm: active\n"

    run = cli(
        db, "subscriptions", "add", "crm", "whatsapp.message.*", "--source", "acme-wa", "--json"
    )
    assert run.returncode == 0, run.stderr
    sub = json.loads(run.stdout)
    subs = json.loads(cli(db, "subscriptions", "list", "--json").stdout)
    assert subs == [{"id": sub["id"], "endpoint": "crm", "pattern": "whatsapp.message.*",
                     "source": "acme-wa", "tenant": "acme"}]  # fmt: skip
    table = cli(db, "subscriptions", "list").stdout.splitlines()
    assert table[0].split() == ["id", "endpoint", "pattern", "source", "tenant"]
    assert cli(db, "subscriptions", "remove", str(sub["id"])).returncode == 0
    assert cli(db, "endpoints", "remove", "crm").stdout == "endpoint crm removed\n"
    assert cli(db, "endpoints", "list").stdout == "none\n"


def test_bad_input_gets_one_clear_line_and_changes_nothing(db: str, tenant_source: str) -> None:
    assert (
        cli(db, "endpoints", "add", "crm", "--tenant", "acme", "--url", "https://crm/x").returncode
        == 0
    )
    cases = {
        ("endpoints", "add", "x", "--tenant", "acme", "--url", "crm.internal/hook"):
            "hookline: invalid URL 'crm.internal/hook'\n",
        ("endpoints", "add", "crm", "--tenant", "acme", "--url", "https://a/b"):
            "hookline: endpoint 'crm' exists\n",
        ("endpoints", "pause", "nope"): "hookline: unknown endpoint 'nope'\n",
        ("endpoints", "show", "nope"): "hookline: unknown endpoint 'nope'\n",
        ("subscriptions", "add", "crm", "whatsapp.*.text*"):
            "hookline: invalid event type pattern 'whatsapp.*.text*'\n",
        ("subscriptions", "add", "nope", "*"): "hookline: unknown endpoint 'nope'\n",
        ("subscriptions", "remove", "999"): "hookline: unknown subscription 999\n",
    }  # fmt: skip
    for args, message in cases.items():
        run = cli(db, *args)
        assert (run.returncode, run.stderr) == (1, message), args
    listed = json.loads(cli(db, "endpoints", "list", "--json").stdout)
    assert [e["name"] for e in listed] == ["crm"]
    assert json.loads(cli(db, "subscriptions", "list", "--json").stdout) == []


def test_an_endpoint_with_deliveries_is_not_removed(db: str, conn, tenant_source: str) -> None:
    cli(db, "endpoints", "add", "crm", "--tenant", "acme", "--url", "https://crm/x")
    cli(db, "subscriptions", "add", "crm", "*")
    conn.execute("select hookline.ingest('acme-wa', 'wamid.1', 'whatsapp.message.text', '{}')")
    run = cli(db, "endpoints", "remove", "crm")
    assert run.returncode == 1
    assert run.stderr == "hookline: endpoint 'crm' has 1 live deliveries and 0 dead letters\n"


def test_the_runner_refuses_a_schema_newer_than_it_knows(db: str, conn) -> None:
    conn.execute("insert into hookline.schema_changes (change) values ('table_from_the_future')")
    run = hookline("runner", "--dsn", db, timeout=30)
    assert run.returncode == 57
    assert "table_from_the_future" in run.stderr


def test_the_runner_refuses_a_schema_not_fully_deployed(empty_db: str) -> None:
    assert hookline("db", "deploy", "--to", "table_events", "--dsn", empty_db).returncode == 0
    run = hookline("runner", "--dsn", empty_db, timeout=30)
    assert run.returncode == 1
    assert run.stderr.startswith(
        "hookline: the schema is older than this hookline (pending changes: "
    )
    assert "table_schema_changes" in run.stderr
    assert run.stderr.endswith(
        "run hookline db deploy (or sqitch deploy and psql -f functions/index.sql)\n"
    )


def test_an_endpoint_secret_comes_from_the_environment_never_argv(
    db: str, tenant_source: str
) -> None:
    secret = "whsec_" + "c2VjcmV0LWZvci10ZXN0aW5nLTEyMzQ1Ng=="
    run = hookline(
        "endpoints", "add", "crm", "--tenant", "acme", "--url", "https://crm.internal/hook",
        "--secret-env", "CRM_SECRET", "--json", "--dsn", db, env={"CRM_SECRET": secret},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "signing_secret" not in json.loads(run.stdout), "a given secret is not printed back"
    assert secret not in run.stdout + run.stderr
    shown = hookline("endpoints", "show", "crm", "--reveal-secret", "--json", "--dsn", db)
    assert json.loads(shown.stdout)["signing_secret"] == secret
    assert "--secret " not in hookline("endpoints", "add", "--help").stdout, "no secret in argv"
    unset = cli(db, "endpoints", "add", "crm2", "--tenant", "acme", "--url", "https://x/y",
                "--secret-env", "HOOKLINE_NOT_SET_CRM")  # fmt: skip
    assert unset.returncode == 1
    assert unset.stderr == "hookline: environment variable HOOKLINE_NOT_SET_CRM is not set\n"
