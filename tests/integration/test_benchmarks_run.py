"""The benchmarks that need nothing but PostgreSQL run as docs/performance.md writes them,
with tiny arguments, on a fresh database: each exits 0 and prints its same-run ratio. Nothing
is timed here (figures belong to the benchmarks, not to the suite); this only keeps the
documented commands working as the SQL API changes under them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Server

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# script, tiny arguments after the DSN, a line of the output that carries the ratio
CASES = [
    ("claim_complete.py", ["2000", "64"], r"hookline / baseline = [0-9.]+"),
    ("queue_cpu.py", ["300", "50", "1"], r"baseline / hookline = [0-9.]+"),
    ("ingest_many.py", ["200", "50"], r"ingest_many / ingest per event = [0-9.]+"),
    ("outbox_claim_complete.py", ["500", "64"], r"outbox / baseline = [0-9.]+"),
    ("delivery_backlog.py", ["5000", "32", "10000"], r"history \(no vacuum\) / fresh = [0-9.]+"),
    ("hot_endpoint.py", ["400", "32"], r"[0-9.]+x one process"),
    ("many_endpoints.py", ["5,20"], r"/ 5 endpoints = [0-9.]+"),
    ("many_endpoints.py", ["--idle", "0,5", "--busy", "2"], r"mean / 0 idle = [0-9.]+"),
    ("many_senders.py", ["0,5"], r"spread: .* [0-9.]+ times one number's 32"),
    (
        "outbox_failures.py",
        ["128", "32"],
        r"failed 131000: [0-9.]+ us a message, [0-9.]+ x unknown delivered",
    ),
    ("crowded_claims.py", ["8", "3", "2"], r"3 processes / 1 = [0-9.]+"),
    ("full_candidates.py", ["3", "32", "500"], r"second / first = [0-9.]+"),
    ("held_xmin.py", ["1000", "32", "200"], r"held / free = [0-9.]+"),
    ("ingest_notify.py", ["1"], r"signal .* / no signal = [0-9.]+"),
    ("send_notify.py", ["1"], r"signal .* / no signal = [0-9.]+"),
    ("job_costs.py", ["200"], r"snapshot_stats +[0-9.]+ms +[0-9.]+ms +[0-9.]+ "),
    ("dlq_ops.py", ["200", "2"], r"dlq show ID +[0-9.]+ ms +[0-9.]+x"),
    (
        "dlq_replayable.py",
        ["300", "1"],
        r"replayable walk.*\([0-9.]+ times faster; same rows: True",
    ),
    (
        "operator_counts.py",
        ["300", "1"],
        r"hookline stats +[0-9.]+ ms +[0-9.]+x +as v0.13: +[0-9.]+ ms",
    ),
]


@pytest.mark.parametrize(
    ("script", "args", "ratio"),
    CASES,
    ids=[" ".join([c[0], *c[1][:1]]) if c[1][0].startswith("--") else c[0] for c in CASES],
)
def test_benchmark_runs_as_documented(db: str, script: str, args: list[str], ratio: str) -> None:
    result = subprocess.run(
        [sys.executable, script, db, *args],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert re.search(ratio, result.stdout), result.stdout[-2000:]


@pytest.mark.parametrize(
    ("script", "figures"),
    [("dlq_10k.py", r"dlq replay --all \(chunks of 500\) +[0-9.]+ s"),
     ("operator_views.py", r"owner +count\(\*\) +[0-9.]+ +[0-9.]+ +[0-9.]+")],
)  # fmt: skip
def test_the_operator_benchmarks_run_again_on_the_same_database(
    server: Server, db: str, script: str, figures: str
) -> None:
    """dlq_10k.py and operator_views.py made their tenants, endpoints and events as if the
    database were new: run a second time, they stopped at the first add_source (the tenant
    exists). Each now takes what an earlier run made and deletes its deliveries and dead letters
    (bench_common.dead_letter_tenants): the second run prints its figures, for as many dead
    letters as the first."""
    args = ["300", str(server.bindir / "psql")] if script == "dlq_10k.py" else ["300"]
    for run in ("first", "second"):
        result = subprocess.run(
            [sys.executable, script, db, *args],
            cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, run + ": " + result.stdout[-2000:] + result.stderr[-3000:]
        assert re.search(figures, result.stdout), run + ": " + result.stdout[-2000:]
    if script == "dlq_10k.py":
        # The psql replay of every dead delivery: the operator's 300, not both runs' 600.
        assert re.search(r"^300$", result.stdout, re.M), result.stdout[-2000:]


def test_each_delivery_benchmark_sets_the_endpoint_state_it_needs(db: str) -> None:
    """Benchmarks share a scratch database and leave their endpoints as they used them:
    crowded_claims.py pauses every other endpoint of tenant 'bench' and gives each of its own
    max_in_flight 1, full_candidates.py forces breakers open. Each delivery benchmark sets what it
    depends on (bench_common.reset_endpoints): claim_complete.py, run again after
    crowded_claims.py, found its 'bench' endpoint paused and printed 0 deliveries."""
    for script, args, ratio in (
        ("claim_complete.py", ["2000", "64"], r"hookline: 2000 deliveries"),
        ("crowded_claims.py", ["8", "3", "2"], r"3 processes / 1 = [0-9.]+"),
        ("full_candidates.py", ["3", "32", "500"], r"second / first = [0-9.]+"),
        ("claim_complete.py", ["2000", "64"], r"hookline: 2000 deliveries"),
        ("many_endpoints.py", ["5,20"], r"/ 5 endpoints = [0-9.]+"),
        ("crowded_claims.py", ["8", "3", "2"], r"3 processes / 1 = [0-9.]+"),
    ):
        result = subprocess.run(
            [sys.executable, script, db, *args],
            cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, script + ": " + result.stdout[-2000:] + result.stderr[-3000:]
        assert re.search(ratio, result.stdout), result.stdout[-2000:]


def test_functions_option_deploys_another_checkouts_functions(db: str, tmp_path: Path) -> None:
    """`--functions OTHER/functions` (bench_common) anywhere on the command line: the script
    deploys that folder's functions, not its own checkout's, and its arguments stay as
    documented. The other checkout here is a copy of functions/ with one comment changed."""
    other = tmp_path / "functions"
    shutil.copytree(BENCHMARKS.parent / "functions", other)
    job = other / "wake_due_retries.sql"
    job.write_text(job.read_text().replace("'Job. Notifies", "'Other checkout. Job. Notifies"))
    result = subprocess.run(
        [sys.executable, "many_endpoints.py", "--functions", str(other), db, "5,20"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"functions deployed from {other}" in result.stdout
    assert re.search(r"/ 5 endpoints = [0-9.]+", result.stdout), result.stdout[-2000:]
    with psycopg.connect(db) as conn:
        comment = conn.execute(
            "select obj_description('hookline.wake_due_retries(timestamptz)'::regprocedure)"
        ).fetchone()
    assert comment and comment[0].startswith("Other checkout. Job."), comment


def test_full_candidates_against_another_checkouts_functions(db: str, other_db: str, tmp_path: Path) -> None:  # fmt: skip
    """`full_candidates.py ... --against OTHER/functions SCRATCH_B` (docs/performance.md,
    "Claim's breaker locks only in step 2"): both versions in one run, OTHER's deployed on the
    second database, each version's medians and other / this printed."""
    other = tmp_path / "functions"
    shutil.copytree(BENCHMARKS.parent / "functions", other)
    job = other / "wake_due_retries.sql"
    job.write_text(job.read_text().replace("'Job. Notifies", "'Other checkout. Job. Notifies"))
    result = subprocess.run(
        [sys.executable, "full_candidates.py", db, "3", "32", "500", "--against", str(other), other_db],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert len(re.findall(r"second / first = [0-9.]+", result.stdout)) == 2, result.stdout[-2000:]
    assert re.search(
        r"other / this: first pass [0-9.]+, second pass [0-9.]+, full probe [0-9.]+", result.stdout
    )
    for dsn, prefix in ((db, "Job."), (other_db, "Other checkout. Job.")):
        with psycopg.connect(dsn) as conn:
            comment = conn.execute(
                "select obj_description('hookline.wake_due_retries(timestamptz)'::regprocedure)"
            ).fetchone()
        assert comment and comment[0].startswith(prefix), comment


def test_functions_option_refuses_a_folder_without_index_sql(db: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "many_endpoints.py", db, "5", "--functions", str(tmp_path)],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no index.sql there" in result.stderr


def test_the_delivery_fuzz_runs_as_documented() -> None:
    """docs/delivery.md's fuzz of the delivery functions (its own PostgreSQL), for seconds and
    with a fixed seed: it exits 0 and reports no finding."""
    result = subprocess.run(
        [sys.executable, "delivery_fuzz.py", "--sessions", "2", "--seconds", "3", "--endpoints", "5", "--seed", "1"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "findings: 0" in result.stdout, result.stdout[-3000:]


def test_the_outbox_fuzz_runs_as_documented() -> None:
    """docs/outbound.md's fuzz of the outbox functions (its own PostgreSQL), for seconds and
    with a fixed seed: it exits 0 and reports no finding."""
    result = subprocess.run(
        [sys.executable, "outbox_fuzz.py", "--sessions", "2", "--seconds", "3", "--senders", "3", "--seed", "1"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "findings: 0" in result.stdout, result.stdout[-3000:]


def test_the_crash_ledger_runs_as_documented() -> None:
    """docs/performance.md's crash ledger (its own PostgreSQL, ingress, runners and handler),
    for a few hundred webhooks with a kill every 3 s, a restart every 8 s and a 0.5 s lock of
    the deliveries and endpoints every 2 s on average: it exits 0 and its ledger finds nothing
    lost or phantom."""
    result = subprocess.run(
        [sys.executable, "crash_ledger.py", "--webhooks", "300", "--rate", "100", "--seed", "1",
         "--kill-every", "3", "--restart-every", "8", "--lock-every", "2", "--port", "0"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "RESULT: clean" in result.stdout, result.stdout[-3000:]


def test_the_outbox_ledger_runs_as_documented() -> None:
    """docs/outbound.md's outbox crash ledger (its own PostgreSQL, ingress, runners, handler
    processes and fake Graph API), for a few hundred messages with a kill every 3 s, a
    restart every 8 s and a 0.5 s lock of the outbox and senders every 2 s on average: it
    exits 0 and its ledger finds nothing lost, phantom or over a limit."""
    result = subprocess.run(
        [sys.executable, "outbox_ledger.py", "--messages", "300", "--rate", "60", "--seed", "1",
         "--kill-every", "3", "--restart-every", "8", "--lock-every", "2", "--port", "0"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "RESULT: clean" in result.stdout, result.stdout[-3000:]
    assert re.search(r"sent once [1-9][0-9]*;", result.stdout), result.stdout[-3000:]


def test_multi_runner_refuses_too_few_events_for_its_endpoints(db: str) -> None:
    """Fewer events than reach every cold endpoint: a usage line, not a KeyError after the
    drain (it was, for 60 events). Nothing is deployed or started before the check."""
    result = subprocess.run(
        [sys.executable, "multi_runner.py", db, "97"],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "multi_runner.py: EVENTS must be at least 98, so that every cold endpoint gets some (got 97)"
    )
