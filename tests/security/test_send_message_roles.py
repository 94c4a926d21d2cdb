"""send_message from a handler's role: only with the grant the DBA gives, and only through
the sources of the tenants the role is mapped to."""

from __future__ import annotations

import psycopg
import pytest

from tests.security.conftest import Tenants, as_role

SEND = (
    "select hookline.send_message(source => %s, \"to\" => '+15550001111', "
    'message => \'{"type": "text", "text": {"body": "hi"}}\', idempotency_key => %s)'
)


def test_a_handler_role_sends_only_through_its_tenants_sources(
    db: str, two_tenants: Tenants
) -> None:
    with psycopg.connect(db, autocommit=True) as owner:
        for tenant, number in (("acme", "1111"), ("globex", "2222")):
            owner.execute(
                "select hookline.add_sender(%s, %s, 'token-0123456789')", (f"{tenant}-wa", number)
            )
        owner.execute("grant hookline_sender to acme_ops")  # the DBA's grant (docs/outbound.md)

    with psycopg.connect(as_role(db, "alice"), autocommit=True) as alice:
        assert alice.execute(SEND, ("acme-wa", "k1")).fetchone()[0] > 0
        with pytest.raises(psycopg.Error) as refused:
            alice.execute(SEND, ("globex-wa", "k2"))
        assert refused.value.sqlstate == "HL001"
        assert refused.value.diag.message_primary == "unknown source 'globex-wa'"

    with (
        psycopg.connect(as_role(db, "bob"), autocommit=True) as bob,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        bob.execute(SEND, ("globex-wa", "k3"))

    with psycopg.connect(db) as owner:
        queued = owner.execute("select tenant_id, idempotency_key from hookline.outbox").fetchall()
    assert queued == [("acme", "k1")], "nothing was queued for the refused calls"
