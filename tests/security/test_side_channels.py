"""What an operator can learn about other tenants outside the views: job messages (totals over
every tenant) and notifications."""

from __future__ import annotations

import psycopg

from tests.security.conftest import Tenants, as_role


def test_job_messages_are_for_callers_who_see_every_tenant(db: str, two_tenants: Tenants) -> None:
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute("select hookline.run_job('rescue_leases')")
        (message,) = owner.execute(
            "select last_message from hookline.job_status() where job_name = 'rescue_leases'"
        ).fetchone()
    assert message is not None
    for login in ("bob", "reader"):
        with psycopg.connect(as_role(db, login)) as conn:
            rows = conn.execute(
                "select last_status, last_message from hookline.job_status() where job_name = 'rescue_leases'"
            ).fetchall()
        assert rows == [("succeeded", None)]


def test_a_notification_carries_no_tenant_data(db: str, two_tenants: Tenants) -> None:
    """Known limit (docs/security.md): PostgreSQL has no privilege on LISTEN, so any role that
    may connect hears the channels; what it hears is the fact and time of a wake-up only."""
    with (
        psycopg.connect(as_role(db, "bob"), autocommit=True) as listener,
        psycopg.connect(as_role(db, "alice"), autocommit=True) as alice,
    ):
        listener.execute("listen hookline_deliveries")
        alice.execute("select hookline.replay(%s)", (two_tenants.dead["acme"],))
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert heard == ['{"due":"now"}']
