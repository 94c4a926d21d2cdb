"""Several runner processes over endpoints with skewed traffic (one hot endpoint): each
endpoint's max_in_flight holds across the runners, as the handlers see it, and no endpoint
waits for the hot one's backlog. The throughput figures are in benchmarks/multi_runner.py."""

from __future__ import annotations

import psycopg

from tests.integration.conftest import scalar, wait_until
from tests.target import Target

HOT, HOT_LIMIT, HOT_EVENTS = "hot", 3, 60
COLD, COLD_LIMIT, COLD_EVENTS = [f"cold{n}" for n in range(8)], 2, 6
RUNNERS = 3


def test_max_in_flight_holds_across_runners_and_no_endpoint_starves(
    conn: psycopg.Connection, tenant_source: str, target: Target, runners
) -> None:
    for name, limit in [(HOT, HOT_LIMIT), *((c, COLD_LIMIT) for c in COLD)]:
        conn.execute(
            "select hookline.add_endpoint(tenant => 'acme', name => %s, url => %s, "
            "max_in_flight => %s)", (name, target.url(f"/slow/50/{name}"), limit),
        )  # fmt: skip
        conn.execute("select hookline.add_subscription(%s, %s)", (name, f"test.{name}"))
    started = [runners(f"r{i}", "--concurrency", "16") for i in range(RUNNERS)]
    wait_until(lambda: all("started" in r.output() for r in started), what="the runners")
    # Traffic arrives in transactions as webhooks do: ten for the hot endpoint, one for each
    # cold one, six times over.
    for chunk in range(COLD_EVENTS):
        conn.execute(
            "select hookline.ingest('acme-wa', %s || '-' || i, 'test.' || n, '{}') "
            "from unnest(%s::text[]) with ordinality as t (n, i)",
            (f"c{chunk}", [HOT] * (HOT_EVENTS // COLD_EVENTS) + COLD),
        )
    total = HOT_EVENTS + COLD_EVENTS * len(COLD)
    wait_until(lambda: len(target.requests) >= total, what="every delivery answered")
    wait_until(lambda: scalar(conn, "select count(*) from hookline.deliveries") == 0,
               what="every result recorded")  # fmt: skip

    most = target.most_at_once_by_path
    assert most[f"/slow/50/{HOT}"] == HOT_LIMIT, "the hot endpoint ran at its limit, not above"
    for c in COLD:
        assert 1 <= most[f"/slow/50/{c}"] <= COLD_LIMIT, (c, most)
    assert len(target.requests) == total, "each delivery once"
    by_runner = conn.execute("select count(distinct runner) from hookline.attempts").fetchone()
    assert by_runner[0] >= 2, "the work was shared by the runners"
    # No starvation: every cold endpoint got all its deliveries, and the last of them before
    # the hot endpoint's backlog was through.
    last = {}
    for req in target.requests:
        name = req.path.rsplit("/", 1)[1]
        last[name] = max(last.get(name, 0.0), req.at)
    counts = {c: sum(r.path.endswith(f"/{c}") for r in target.requests) for c in COLD}
    assert counts == dict.fromkeys(COLD, COLD_EVENTS)
    assert max(last[c] for c in COLD) < last[HOT]
