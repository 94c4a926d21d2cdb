"""Two tenants with their own operators, for the security tests.

Roles are cluster-wide: the session creates them once on the test server (group roles mapped
to tenants, login roles that are members of them); each test's database maps them with
hookline.grant_tenant, as a DBA would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from tests.conftest import Server
from tests.integration.conftest import target  # noqa: F401  (the scripted HTTP target fixture)

# group role -> (login role, tenant)
OPERATORS = {"acme_ops": ("alice", "acme"), "globex_ops": ("bob", "globex")}


@pytest.fixture(scope="session")
def operator_roles(server: Server, template: str) -> Iterator[None]:
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        for group, (login, _tenant) in OPERATORS.items():
            conn.execute(f"create role {group} nologin in role hookline_operator")
            conn.execute(f"create role {login} login in role {group}")
        conn.execute("create role reader login in role hookline_readonly")
        conn.execute("create role ingress login in role hookline_ingest")
        conn.execute("create role worker login in role hookline_runner")
    yield
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        for group, (login, _tenant) in OPERATORS.items():
            conn.execute(f"drop role {login}")
            conn.execute(f"drop role {group}")
        conn.execute("drop role reader, ingress, worker")


def as_role(dsn: str, user: str) -> str:
    return make_conninfo(dsn, user=user)


@dataclass
class Tenants:
    dead: dict[str, list[int]]  # tenant -> dead delivery ids
    live: dict[str, list[int]]  # tenant -> live delivery ids


PII = {
    "acme": ("4915112345678", "Alice Example", "my order 4711 for Main Street"),
    "globex": ("447700900123", "Bob Sample", "please call me back"),
}


def whatsapp_message(wa_id: str, name: str, text: str, wamid: str) -> str:
    import json

    return json.dumps({
        "messaging_product": "whatsapp",
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": "1764000000", "type": "text",
                      "text": {"body": f"{text}, {name}, +{wa_id}"}}],
    })  # fmt: skip


@pytest.fixture
def two_tenants(db: str, operator_roles: None) -> Tenants:
    """acme and globex, each with an endpoint, 3 dead and 2 live deliveries carrying personal
    data, and its operator group role mapped to it."""
    dead: dict[str, list[int]] = {}
    live: dict[str, list[int]] = {}
    with psycopg.connect(db, autocommit=True) as conn:
        for group, (_login, tenant) in OPERATORS.items():
            conn.execute(
                "select hookline.add_source(%s, %s, 'whatsapp', 'secret', create_tenant => true)",
                (tenant, f"{tenant}-wa"),
            )
            conn.execute(
                "select hookline.add_endpoint(%s, %s, 'https://handler.invalid/hook')",
                (tenant, f"{tenant}-crm"),
            )
            conn.execute("select hookline.add_subscription(%s, '*')", (f"{tenant}-crm",))
            conn.execute("select hookline.grant_tenant(%s, %s, 'onboarding')", (group, tenant))
            wa_id, name, text = PII[tenant]
            for i in range(5):
                conn.execute(
                    "select hookline.ingest(%s, %s, 'whatsapp.message.text', %s::jsonb, null, "
                    "'2026-03-01 10:00Z', wa_id => %s)",
                    (f"{tenant}-wa", f"{tenant}-w{i}", whatsapp_message(wa_id, name, text, f"w{i}"), wa_id),
                )  # fmt: skip
        claimed = conn.execute(
            "select c.delivery_id, c.lease_token, d.tenant_id "
            "from hookline.claim('seed', 100, '30 seconds', '2026-03-01 10:00Z') c "
            "join hookline.deliveries d on d.delivery_id = c.delivery_id order by 1"
        ).fetchall()
        for tenant in PII:
            ids = [d for d, _lease, t in claimed if t == tenant]
            dead[tenant], live[tenant] = ids[:3], ids[3:]
        results = [
            {"delivery_id": d, "lease_token": str(lease), "status_code": 404}
            for d, lease, t in claimed if d in dead[t]
        ]  # fmt: skip
        conn.execute("select hookline.complete(%s, '2026-03-01 10:00:01Z')", (Jsonb(results),))
        leases = [
            {"delivery_id": d, "lease_token": str(lease)} for d, lease, t in claimed if d in live[t]
        ]
        conn.execute(
            "select hookline.release('seed', %s, '2026-03-01 10:00:02Z')", (Jsonb(leases),)
        )
    return Tenants(dead, live)
