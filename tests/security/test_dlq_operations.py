"""Working the dead-letter queue as an operator: the CLI and the sql/ queries through psql,
with bad input (SQL in every filter, unknown ids, wrong states) changing nothing."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from hookline.cli import main
from tests.conftest import Server
from tests.helpers import ROOT, hookline, psql
from tests.security.conftest import Tenants, as_role

SQL_FILES = sorted(p.name for p in (ROOT / "sql").glob("*.sql") if p.name != "partitions.sql")


def snapshot(db: str) -> tuple:
    with psycopg.connect(db) as conn:
        return (
            conn.execute(
                """select 'live', delivery_id, state::text, generation from hookline.deliveries
                   union all select 'dlq', delivery_id, state::text, generation from hookline.dead_letters
                   order by 1, 2"""
            ).fetchall(),
            conn.execute("select count(*) from hookline.audit_log").fetchone()[0],
        )


def test_list_filters_and_pages_within_the_operators_tenant(db: str, two_tenants: Tenants) -> None:
    alice = as_role(db, "alice")
    out = hookline("dlq", "list", "--dsn", alice, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["delivery_id"] for r in rows] == two_tenants.dead["acme"]
    assert {(r["tenant"], r["state"], r["error_class"]) for r in rows} == {
        ("acme", "dead", "http_404")
    }
    page = hookline("dlq", "list", "--dsn", alice, "--limit", "2")
    assert f"more: --after {two_tenants.dead['acme'][1]}" in page.stderr
    rest = hookline(
        "dlq", "list", "--dsn", alice, "--after", str(two_tenants.dead["acme"][1]), "--json"
    )
    assert [r["delivery_id"] for r in json.loads(rest.stdout)] == two_tenants.dead["acme"][2:]
    other = hookline("dlq", "list", "--dsn", alice, "--tenant", "globex", "--json")
    assert json.loads(other.stdout) == []
    for flag, value, expected in (
        ("--endpoint", "acme-crm", 3), ("--event-type", "whatsapp.message.text", 3),
        ("--error-class", "http_404", 3), ("--error-class", "timeout", 0), ("--since", "2026-03-01", 3),
        ("--since", "2026-03-02", 0), ("--state", "discarded", 0), ("--until", "2026-03-01", 0),
        ("--until", "2026-03-02", 3), ("--event-type", "whatsapp.message.*", 3),
        ("--event-type", "whatsapp.*.text", 3), ("--event-type", "whatsapp.status.*", 0),
        ("--event-type", "whatsapp.message.tex_", 0), ("--event-type", "whatsapp%", 0),
    ):  # fmt: skip
        run = CliRunner().invoke(main, ["dlq", "list", "--dsn", alice, flag, value, "--json"])
        assert run.exit_code == 0, run.output
        assert len(json.loads(run.stdout)) == expected, (flag, value)


def test_list_says_which_dead_letters_a_replay_would_resend(db: str, two_tenants: Tenants) -> None:  # fmt: skip
    # A dead letter whose event's day retention dropped cannot be replayed (`dlq replay` skips
    # it). `dlq list` did not say which ones those were; now a column does, and --replayable
    # lists only the others (what a replay would resend), as replay's dry run counts them.
    alice = as_role(db, "alice")
    acme = two_tenants.dead["acme"]
    with psycopg.connect(db, autocommit=True) as conn:  # its day gone, as retention leaves it
        conn.execute(
            "update hookline.dead_letters set event_received_at = '2020-01-01Z' where delivery_id = %s",
            (acme[0],),
        )
    rows = json.loads(hookline("dlq", "list", "--dsn", alice, "--json").stdout)
    assert [(r["delivery_id"], r["replayable"]) for r in rows] == [
        (acme[0], False), (acme[1], True), (acme[2], True)
    ]  # fmt: skip
    table = hookline("dlq", "list", "--dsn", alice)
    header, first = table.stdout.splitlines()[:2]
    assert header.split()[8] == "replayable" and first.split()[8] == "False", table.stdout
    only = hookline("dlq", "list", "--dsn", alice, "--replayable", "--json")
    assert [r["delivery_id"] for r in json.loads(only.stdout)] == acme[1:]
    dry = hookline(
        "dlq", "replay", "--endpoint", "acme-crm", "--reason", "x", "--dry-run", "--dsn", alice
    )
    assert dry.stdout.strip() == "would replay 2 deliveries (1 skipped: their events are gone)"


INJECTIONS = ["acme' or '1'='1", "x'); delete from hookline.dead_letters; --", "acme\\' or 1=1 --",
              "%(tenant)s", "' union select * from hookline.dead_letters --"]  # fmt: skip


@pytest.mark.parametrize("flag", ["--tenant", "--endpoint", "--event-type", "--error-class"])
def test_sql_in_a_filter_is_a_value_that_matches_nothing(
    db: str, two_tenants: Tenants, flag: str
) -> None:
    """In process (CliRunner) for speed; the same commands as the subprocess tests run."""
    before = snapshot(db)
    for value in INJECTIONS:
        for command in (["dlq", "list", "--json"], ["dlq", "replay", "--reason", "x"],
                        ["dlq", "discard", "--reason", "x"]):  # fmt: skip
            run = CliRunner().invoke(main, [*command, "--dsn", db, flag, value])
            assert run.exit_code == 0, run.output
            assert run.stdout.strip() in ("[]", "replayed 0 deliveries", "discarded 0 deliveries")
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "args",
    [["dlq", "list", "--since", "2026-01-01'; delete from hookline.dead_letters; --"],
     ["dlq", "show", "1 or 1=1"], ["dlq", "replay", "1;2", "--reason", "x"],
     ["dlq", "list", "--state", "dead' or '1'='1"], ["dlq", "list", "--limit", "1; select 1"]],
)  # fmt: skip
def test_malformed_input_is_refused_before_the_database(
    db: str, two_tenants: Tenants, args: list[str]
) -> None:
    before = snapshot(db)
    run = hookline(*args, "--dsn", db)
    assert run.returncode == 2 and "Invalid value" in run.stderr
    assert snapshot(db) == before


def test_unknown_and_live_ids_are_not_replayed(db: str, two_tenants: Tenants) -> None:
    before = snapshot(db)
    alice = as_role(db, "alice")
    for ids, named in ((["999999"], "999999"), ([str(two_tenants.live["acme"][0])], str(two_tenants.live["acme"][0])),
                       ([str(two_tenants.dead["acme"][0]), str(two_tenants.dead["globex"][0])], str(two_tenants.dead["globex"][0]))):  # fmt: skip
        run = hookline("dlq", "replay", *ids, "--reason", "x", "--dsn", alice)
        assert run.returncode == 1
        assert run.stderr.strip() == f"hookline: not in the dead-letter queue: {named}"
    show = hookline("dlq", "show", str(two_tenants.dead["globex"][0]), "--dsn", alice)
    assert show.returncode == 1 and "not in the dead-letter queue" in show.stderr
    assert snapshot(db) == before


def test_discarding_twice_is_an_error_the_second_time_and_audited_once(
    db: str, two_tenants: Tenants
) -> None:
    alice = as_role(db, "alice")
    target = str(two_tenants.dead["acme"][0])
    first = hookline("dlq", "discard", target, "--reason", "spam", "--dsn", alice)
    assert first.returncode == 0 and first.stdout.strip() == "discarded 1 deliveries"
    after_first = snapshot(db)
    second = hookline("dlq", "discard", target, "--reason", "spam", "--dsn", alice)
    assert second.returncode == 1
    assert (
        second.stderr.strip().splitlines()[-1]
        == f"hookline: nothing discarded; already discarded, left as they were: {target}"
    )
    assert snapshot(db) == after_first
    with psycopg.connect(db) as conn:
        actions = conn.execute(
            "select action, target from hookline.audit_log where acting_role = 'alice'"
        ).fetchall()
    one = int(target)
    summary = {"count": 1, "first_id": one, "last_id": one, "delivery_ids": [one]}
    assert actions == [("delivery.discard", summary)]


def test_bulk_replay_by_filter_goes_in_audited_chunks(db: str, two_tenants: Tenants) -> None:
    alice = as_role(db, "alice")
    before = snapshot(db)
    dry = hookline(
        "dlq",
        "replay",
        "--endpoint",
        "acme-crm",
        "--reason",
        "outage over",
        "--dry-run",
        "--dsn",
        alice,
    )
    assert dry.stdout.strip() == "would replay 3 deliveries"
    assert snapshot(db) == before
    run = hookline(
        "dlq",
        "replay",
        "--endpoint",
        "acme-crm",
        "--reason",
        "outage over",
        "--chunk",
        "2",
        "--dsn",
        alice,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "replayed 3 deliveries"
    with psycopg.connect(db) as conn:
        audits = conn.execute(
            "select target, reason from hookline.audit_log where action = 'delivery.replay' order by audit_id"
        ).fetchall()
        states = conn.execute(
            "select state::text, generation from hookline.deliveries where delivery_id = any(%s)",
            (two_tenants.dead["acme"],),
        ).fetchall()
    acme = two_tenants.dead["acme"]
    # One summary per chunk: how many, the first and last id, and the filter that chose them.
    chosen = {"endpoint": "acme-crm"}
    assert audits == [
        ({"count": 2, "first_id": acme[0], "last_id": acme[1], "delivery_ids": acme[:2],
          "filter": chosen}, "outage over"),
        ({"count": 1, "first_id": acme[2], "last_id": acme[2], "delivery_ids": acme[2:],
          "filter": chosen}, "outage over"),
    ]  # fmt: skip
    assert states == [("pending", 2)] * 3
    again = hookline(
        "dlq", "replay", "--endpoint", "acme-crm", "--reason", "outage over", "--dsn", alice
    )
    assert again.stdout.strip() == "replayed 0 deliveries"  # resumable: what is done is not redone


def test_stats_count_only_the_operators_tenant(db: str, two_tenants: Tenants) -> None:
    with psycopg.connect(db, autocommit=True) as owner:  # one breaker each, forced open
        owner.execute(
            "select hookline.set_breaker('endpoint:' || endpoint_id, 'open') from hookline.endpoints"
        )
    run = hookline("stats", "--json", "--dsn", as_role(db, "alice"))
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["queue"] == {"pending": 2}
    assert data["dlq"] == {"dead": 3}
    assert data["circuits"] == {"open": 1}, "the breaker of acme's endpoint only"
    human = hookline("stats", "--dsn", as_role(db, "alice"))
    assert "dead-letter queue:     dead 3" in human.stdout
    assert "circuits:              open 1" in human.stdout


def test_audit_list_and_tenant_grants(db: str, two_tenants: Tenants) -> None:
    granted = hookline("tenants", "grant", "acme_ops", "globex", "--reason", "merger", "--dsn", db)
    assert granted.stdout.strip() == "acme_ops acts for globex"
    listed = hookline("dlq", "list", "--json", "--dsn", as_role(db, "alice"))
    assert {r["tenant"] for r in json.loads(listed.stdout)} == {"acme", "globex"}
    assert hookline("tenants", "revoke", "acme_ops", "globex", "--dsn", db).returncode == 0
    unknown = hookline("tenants", "grant", "nobody_here", "acme", "--dsn", db)
    assert unknown.returncode == 1 and "unknown role 'nobody_here'" in unknown.stderr
    refused = hookline("tenants", "grant", "acme_ops", "globex", "--dsn", as_role(db, "alice"))
    assert refused.returncode != 0
    audit = hookline("audit", "list", "--json", "--action", "role_tenants.insert", "--dsn", db)
    assert next(r["reason"] for r in json.loads(audit.stdout)) == "merger"


@pytest.mark.parametrize("name", SQL_FILES)
def test_operator_queries_run_under_the_operator_role(server: Server, db: str, two_tenants: Tenants,
                                                      name: str) -> None:  # fmt: skip
    run = psql(server.bindir, as_role(db, "alice"), "-A", "-F", "|", "-v", "tenant=acme", "-f",
               str(ROOT / "sql" / name))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "globex" not in run.stdout
    injected = psql(server.bindir, as_role(db, "alice"), "-A", "-v", "tenant=x' or '1'='1", "-f",
                    str(ROOT / "sql" / name))  # fmt: skip
    assert injected.returncode == 0, injected.stderr
    assert "acme" not in injected.stdout


def test_dlq_overview_shows_the_operators_dead_letters(
    server: Server, db: str, two_tenants: Tenants
) -> None:
    run = psql(
        server.bindir,
        as_role(db, "alice"),
        "-A",
        "-F",
        "|",
        "-t",
        "-f",
        str(ROOT / "sql" / "dlq_overview.sql"),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[0].startswith("acme|acme-crm|dead|http_404|3|")


def test_sql_and_personal_data_in_payload_fields_are_stored_as_data(
    db: str, two_tenants: Tenants
) -> None:
    """Through the ingress role, as the ingress stores them; then read back masked."""
    payload = {"from": "4915112345678'); drop table hookline.events; --",
               "text": {"body": "'; update hookline.dead_letters set state = 'dead'; --"},
               "profile": {"name": "Robert'); delete from hookline.audit_log; --"}}  # fmt: skip
    before = snapshot(db)
    with psycopg.connect(as_role(db, "ingress"), autocommit=True) as conn:
        ((event_id, is_new),) = conn.execute(
            "select * from hookline.ingest('acme-wa', %s, 'whatsapp.message.text', %s)",
            ("x'); drop table hookline.events; --", json.dumps(payload)),
        ).fetchall()
    assert is_new
    with psycopg.connect(db) as conn:
        stored = conn.execute(
            "select external_id, payload from hookline.events where event_id = %s", (event_id,)
        ).fetchone()
    assert stored == ("x'); drop table hookline.events; --", payload)
    with psycopg.connect(as_role(db, "alice")) as conn:
        (masked,) = conn.execute(
            "select payload from hookline.event_log where event_id = %s", (event_id,)
        ).fetchone()
    assert masked == {"from": "[phone]", "text": "[text]", "profile": "[name]"}
    assert snapshot(db)[0][: len(before[0])] == before[0]  # new deliveries only; nothing else moved


def test_dead_letters_are_pruned_after_their_tenants_retention(
    db: str, two_tenants: Tenants
) -> None:
    """An operator sets its tenant's dead-letter retention; the job prune_dead_letters deletes
    what ended before it, tenant by tenant (globex keeps its default-long ones here)."""
    alice = as_role(db, "alice")
    assert (
        hookline("tenants", "dead-letter-retention", "globex", "3650 days", "--dsn", db).returncode
        == 0
    )
    run = hookline(
        "tenants", "dead-letter-retention", "acme", "14 days", "--reason", "GDPR", "--dsn", alice
    )
    assert run.stdout == "acme: dead letters kept 14 days\n", run.stderr
    for who, args, message in (
        (alice, ["globex", "14 days"], "unknown tenant 'globex'"),
        (alice, ["acme", "1 hour"], "invalid dead-letter retention"),
        (as_role(db, "reader"), ["acme", "14 days"], "permission denied"),
    ):
        refused = hookline("tenants", "dead-letter-retention", *args, "--dsn", who)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
    pruned = hookline("cron", "run", "prune_dead_letters", "--dsn", db)
    assert pruned.stdout == "prune_dead_letters: succeeded: pruned 3 dead letters\n", pruned.stderr
    with psycopg.connect(db) as conn:
        left = conn.execute(
            "select tenant_id, count(*) from hookline.dead_letters group by 1"
        ).fetchall()
        audit = conn.execute(
            "select acting_role, reason, after from hookline.audit_log"
            " where action = 'tenants.update' and tenant_id = 'acme'"
        ).fetchall()
    assert left == [("globex", 3)]
    assert audit == [("alice", "GDPR", {"dead_letter_retention": "14 days"})]


def test_the_page_filter_and_the_view_agree_on_error_classes(db: str, two_tenants: Tenants) -> None:  # fmt: skip
    """dead_letter_page filters on the class that hookline.complete stored (error_class), as
    the view shows it: discarded for a discarded one, unknown when none was stored."""
    ids = two_tenants.dead["acme"] + two_tenants.dead["globex"]
    kinds = [("dead", "http_503"), ("dead", "refused"), ("dead", "timeout"), ("dead", None),
             ("discarded", "http_404"), ("dead", "connect")]  # fmt: skip
    with psycopg.connect(db, autocommit=True) as conn:
        for delivery_id, (state, error_class) in zip(ids, kinds, strict=True):
            conn.execute(
                "update hookline.dead_letters set state = %s, error_class = %s where delivery_id = %s",
                (state, error_class, delivery_id),
            )
        shown = [r[0] for r in conn.execute(
            "select error_class from hookline.dead_letter_queue where delivery_id = any(%s) "
            "order by delivery_id", (ids,),
        )]  # fmt: skip
        for error_class in set(shown):
            paged = conn.execute(
                "select delivery_id from hookline.dead_letter_page(error_class => %s, page_size => null)",
                (error_class,),
            ).fetchall()
            assert {i for (i,) in paged} == {
                i for i, c in zip(ids, shown, strict=True) if c == error_class
            }, error_class
    assert shown == ["http_503", "refused", "timeout", "unknown", "discarded", "connect"]
    listed = hookline("dlq", "list", "--error-class", "timeout", "--json", "--dsn", db)
    assert [r["delivery_id"] for r in json.loads(listed.stdout)] == [ids[2]]


def test_the_keyed_view_functions_return_only_the_callers_tenants_rows_masked(
    db: str, two_tenants: Tenants
) -> None:
    """dead_letter_rows, event_log_rows, attempt_log_rows and audit_trail_page (the CLI's
    reads by key) return what the views would: the caller's tenants' rows, masked; another
    tenant's keys return nothing."""
    acme = two_tenants.dead["acme"]
    with psycopg.connect(db, autocommit=True) as conn:
        key = conn.execute(
            "select event_id, event_received_at from hookline.dead_letters where delivery_id = %s",
            (acme[0],),
        ).fetchone()
        conn.execute("select hookline.set_dead_letter_retention('acme', '9 days', 'probe')")
    calls = [
        ("select delivery_id, reason from hookline.dead_letter_rows(%s)", (acme,)),
        ("select wa_id, payload::text from hookline.event_log_rows(%s, %s)", key),
        ("select delivery_id, status_code from hookline.attempt_log_rows(%s)", (acme[0],)),
        ("select tenant_id, action from hookline.audit_trail_page(of_tenant => 'acme')", ()),
    ]
    seen = {}
    for user in ("alice", "bob"):
        with psycopg.connect(as_role(db, user)) as conn:
            seen[user] = [conn.execute(sql, params).fetchall() for sql, params in calls]
    dead, events, attempts, audit = seen["alice"]
    assert sorted(r[0] for r in dead) == sorted(acme)
    assert len(events) == 1 and "Alice Example" not in events[0][1] and "4711" not in events[0][1]
    assert attempts == [(acme[0], 404)]
    assert ("acme", "tenants.update") in audit and {r[0] for r in audit} == {"acme"}
    assert seen["bob"] == [[], [], [], []]


# Each counting function against the aggregate of its view, read as the same operator.
COUNTS = {
    "live_delivery_totals": (
        "select state, sum(deliveries)::bigint, min(oldest_due_at) from hookline.live_delivery_totals() group by 1",
        "select state, count(*), min(next_attempt_at) filter (where state <> 'in_flight' and next_attempt_at <= now())"
        " from hookline.live_deliveries group by 1",
    ),
    "dead_letter_totals": (
        "select endpoint, state, error_class, dead_letters, oldest, newest, not_replayable"
        " from hookline.dead_letter_totals()",
        "select endpoint, state, error_class, count(*), min(finished_at), max(finished_at),"
        " count(*) filter (where event_type is null) from hookline.dead_letter_queue group by 1, 2, 3",
    ),
    "attempt_totals": (
        "select endpoint_id, outcome, error_class, sum(attempts)::bigint, max(last_attempted_at)"
        " from hookline.attempt_totals() group by 1, 2, 3",
        "select endpoint_id, outcome, coalesce(error_class, 'http_' || status_code), count(*), max(attempted_at)"
        " from hookline.attempt_log group by 1, 2, 3",
    ),
    "attempt_window_totals": (
        "select endpoint_id, outcome, attempts, recent"
        " from hookline.attempt_window_totals(now() - interval '1 hour', now() - interval '15 minutes')",
        "select endpoint_id, outcome, count(*), count(*) filter (where attempted_at >= now() - interval '15 minutes')"
        " from hookline.attempt_log where attempted_at >= now() - interval '1 hour' group by 1, 2",
    ),
    "outbox_totals": (
        "select phone_number_id, state, last_error_code, messages, recent from hookline.outbox_totals()",
        "select phone_number_id, state, last_error_code, count(*),"
        " count(*) filter (where created_at > now() - interval '1 day') from hookline.outbox_messages group by 1, 2, 3",
    ),
}


def test_the_counting_functions_count_what_the_views_show_and_only_the_callers_tenants(
    db: str, two_tenants: Tenants
) -> None:
    """live_delivery_totals, dead_letter_totals, attempt_totals, attempt_window_totals and
    outbox_totals (what `hookline stats` and the sql/ overviews count through, nothing masked)
    agree with a count of the view as the same operator, and each operator counts only its own
    tenant."""
    with psycopg.connect(db, autocommit=True) as conn:
        for tenant in ("acme", "globex"):
            conn.execute("select hookline.add_sender(%s, %s, 'token-0123456789')", (f"{tenant}-wa", "1111" if tenant == "acme" else "2222"))  # fmt: skip
            for i in range(3 if tenant == "acme" else 1):
                conn.execute(
                    "select hookline.send_message(source => %s, \"to\" => '+15550001111', "
                    'message => \'{"type": "text", "text": {"body": "hi"}}\', idempotency_key => %s)',
                    (f"{tenant}-wa", f"k{i}"),
                )
    for user, tenant in (("alice", "acme"), ("bob", "globex")):
        with psycopg.connect(as_role(db, user)) as conn:
            for name, (counted, viewed) in COUNTS.items():
                assert sorted(conn.execute(counted).fetchall()) == sorted(conn.execute(viewed).fetchall()), (user, name)  # fmt: skip
            tenants = conn.execute(
                "select tenant_id from hookline.live_delivery_totals() union select tenant_id from hookline.dead_letter_totals()"
                " union select tenant_id from hookline.attempt_totals() union select tenant_id from hookline.outbox_totals()"
                " union select tenant_id from hookline.attempt_window_totals(null, null)"
            ).fetchall()
            assert tenants == [(tenant,)], user
            queue = conn.execute(
                "select sum(deliveries)::int from hookline.live_delivery_totals()"
            ).fetchone()
            dead = conn.execute(
                "select sum(dead_letters)::int from hookline.dead_letter_totals()"
            ).fetchone()
            sent = conn.execute(
                "select sum(messages)::int from hookline.outbox_totals()"
            ).fetchone()
            assert (queue, dead, sent) == ((2,), (3,), ((3 if tenant == "acme" else 1),)), user


def test_the_last_views_keyed_functions_return_only_the_callers_tenants_rows(
    db: str, two_tenants: Tenants
) -> None:
    """live_delivery_rows, endpoint_overview_rows and outbox_message_rows: the view's rows
    for the keys given, masked as the view masks them; another tenant's keys return nothing."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_sender('acme-wa', '1111', 'token-0123456789')")
        (message,) = conn.execute(
            "select hookline.send_message(source => 'acme-wa', \"to\" => '+15550001111', "
            'message => \'{"type": "text", "text": {"body": "hi"}}\', idempotency_key => \'k\')'
        ).fetchone()
    live = two_tenants.live["acme"]
    calls = [
        ("select delivery_id, tenant_id from hookline.live_delivery_rows(%s)", (live,)),
        (
            "select delivery_id from hookline.live_delivery_rows(of_tenant => 'acme', due_by => now(), page_size => 1)",
            (),
        ),
        (
            "select name, live_deliveries, dead_letters from hookline.endpoint_overview_rows('acme-crm')",
            (),
        ),
        ("select message_id, recipient from hookline.outbox_message_rows(%s)", ([message],)),
    ]
    seen = {}
    for user in ("alice", "bob"):
        with psycopg.connect(as_role(db, user)) as conn:
            seen[user] = [conn.execute(sql, params).fetchall() for sql, params in calls]
    rows, page, endpoint, messages = seen["alice"]
    assert sorted(rows) == [(d, "acme") for d in sorted(live)]
    assert len(page) == 1 and page[0][0] in live
    assert endpoint == [("acme-crm", 2, 3)]
    assert len(messages) == 1 and messages[0][0] == message and "5550001111" not in messages[0][1]
    assert seen["bob"] == [[], [], [], []]


def test_circuit_state_rows_returns_the_views_rows_of_the_callers_tenants_by_target(
    db: str, two_tenants: Tenants
) -> None:
    """hookline.circuit_state_rows(targets): circuit_states' rows for these targets (an
    endpoint's or a sending number's), masked as the view masks them; another tenant's targets
    return nothing, and null is the whole view (its function is the null-key call)."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_sender('acme-wa', '1111', 'token-0123456789')")
        conn.execute(
            "select hookline.set_breaker('endpoint:' || endpoint_id, 'open', reason => 'down, call +49 151 12345678')"
            " from hookline.endpoints"
        )
        conn.execute("select hookline.set_breaker('sender:1111', 'open')")
        targets = {name: target for target, name in conn.execute(
            "select 'endpoint:' || endpoint_id, name from hookline.endpoints").fetchall()}  # fmt: skip
    keys = [targets["acme-crm"], targets["globex-crm"], "sender:1111", "sender:9999", "endpoint:x"]
    seen = {}
    for user in ("alice", "bob"):
        with psycopg.connect(as_role(db, user)) as conn:
            by_key = conn.execute(
                "select * from hookline.circuit_state_rows(%s) order by target", (keys,)
            ).fetchall()
            view = conn.execute(
                "select * from hookline.circuit_states where target = any (%s) order by target",
                (keys,),
            ).fetchall()
            assert by_key == view, user
            assert conn.execute("select * from hookline.circuit_state_rows(null) order by target").fetchall() == (
                conn.execute("select * from hookline.circuit_states order by target").fetchall()
            ), user  # fmt: skip
            seen[user] = by_key
    alice = [(r[0], r[1], r[2], r[4]) for r in seen["alice"]]
    assert alice == [
        (targets["acme-crm"], "endpoint", "acme-crm", "open"),
        ("sender:1111", "sender", "1111", "open"),
    ]
    assert "12345678" not in seen["alice"][0][11]  # the reason, masked
    assert [(r[2], r[3]) for r in seen["bob"]] == [("globex-crm", "globex")]
