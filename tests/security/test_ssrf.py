"""SSRF: the runner checks the addresses an endpoint's host resolves to when it connects;
a refused address is a permanent failure with the reason. Plain http needs the tenant's leave
(or a loopback host)."""

from __future__ import annotations

import asyncio
import re
import socket

import aiohttp
import psycopg
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from hookline.netguard import AddressRefused, Guard, guarded_connector
from tests.helpers import hookline
from tests.integration.conftest import RunnerProcess, wait_until
from tests.target import Target


@pytest.mark.parametrize(
    ("address", "allowed", "refused"),
    [
        ("127.0.0.1", ("127.0.0.0/8",), None),
        ("10.1.2.3", ("10.0.0.0/8",), None),
        ("203.0.113.7", ("10.0.0.0/8",), "203.0.113.7 is not in the allowed networks"),
        ("169.254.169.254", ("0.0.0.0/0",), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("fd00:ec2::254", ("::/0",), "fd00:ec2::254 is link-local or a metadata address (always refused)"),
        ("::ffff:169.254.169.254", ("::/0", "0.0.0.0/0"), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("fe80::1%eth0", ("::/0",), "fe80::1 is link-local or a metadata address (always refused)"),
        ("100.100.100.200", ("0.0.0.0/0",), "100.100.100.200 is link-local or a metadata address (always refused)"),
        # IPv6 transition forms are judged by the IPv4 address they lead to
        ("64:ff9b::a9fe:a9fe", ("::/0", "0.0.0.0/0"), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("64:ff9b::169.254.169.254", ("::/0",), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("64:ff9b:1::a9fe:a9fe", ("::/0",), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("2002:a9fe:a9fe::1", ("::/0", "0.0.0.0/0"), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("2002:6464:64c8::1", ("::/0",), "100.100.100.200 is link-local or a metadata address (always refused)"),
        ("::169.254.169.254", ("::/0", "0.0.0.0/0"), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("::ffff:0:169.254.169.254", ("::/0",), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("::ffff:127.0.0.1", ("::/0",), "127.0.0.1 is not in the allowed networks"),
        ("2001:0:4136:e378:8000:63bf:5601:5601", ("::/0",), "169.254.169.254 is link-local or a metadata address (always refused)"),
        ("64:ff9b::8.8.8.8", ("::/0",), "8.8.8.8 is not in the allowed networks"),
        ("64:ff9b::8.8.8.8", ("::/0", "0.0.0.0/0"), None),
        ("2001:db8::1", ("::/0",), None),
        ("::1", ("::1/128",), None),
    ],
)  # fmt: skip
def test_the_guard_refuses_what_is_not_allowed(
    address: str, allowed: tuple[str, ...], refused: str | None
) -> None:
    assert Guard(allowed).refusal(address) == refused


class FixedResolver(AbstractResolver):
    """A DNS answer of the test's choosing (or a failure, for an unknown name)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:  # fmt: skip
        if host not in self.answers:
            raise OSError("Name or service not known")
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.answers[host]
        ]

    async def close(self) -> None:
        pass


def post(guard: Guard, resolver: AbstractResolver, url: str) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession(connector=guarded_connector(guard, 4, resolver)) as s:
            await s.post(url, data=b"{}")

    asyncio.run(run())


def test_a_name_resolving_to_a_metadata_address_is_refused_before_connecting() -> None:
    resolver = FixedResolver({"handler.example": ["10.0.0.8", "169.254.169.254"]})
    with pytest.raises(
        AddressRefused, match=re.escape("handler.example resolves to 169.254.169.254 is link-local")
    ):
        post(Guard(("0.0.0.0/0",)), resolver, "http://handler.example/hook")


def test_an_address_literal_is_checked_when_the_socket_connects() -> None:
    with pytest.raises(AddressRefused, match=re.escape("169.254.169.254 is link-local")):
        post(Guard(("0.0.0.0/0",)), FixedResolver({}), "http://169.254.169.254/latest/meta-data")


def test_an_unresolvable_name_is_a_connection_error() -> None:
    with pytest.raises(aiohttp.ClientConnectorError):
        post(Guard(), FixedResolver({}), "http://nowhere.invalid/hook")


def test_plain_http_needs_loopback_or_the_tenants_leave(
    conn: psycopg.Connection, tenant_source: str
) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("select hookline.add_endpoint('acme', 'crm', 'http://handler.internal/hook')")
    assert info.value.sqlstate == "HL082"
    for i, url in enumerate(("https://handler.internal/hook", "http://127.0.0.1:8080/hook", "http://localhost/x",
                             "http://[::1]:9/x")):  # fmt: skip
        conn.execute("select hookline.add_endpoint('acme', %s, %s)", (f"ok-{i}", url))
    with pytest.raises(psycopg.Error):
        conn.execute(
            "select hookline.add_endpoint('acme', 'sneaky', 'http://localhost.attacker.example/x')"
        )
    conn.execute("select hookline.allow_http('acme', true, 'legacy handler')")
    conn.execute("select hookline.add_endpoint('acme', 'crm', 'http://handler.internal/hook')")
    audit = conn.execute(
        "select reason, before, after from hookline.audit_log where action = 'tenants.update'"
    ).fetchall()
    assert audit == [("legacy handler", {"allows_http": False}, {"allows_http": True})]


@pytest.mark.slow
def test_a_name_resolving_to_a_forbidden_address_is_a_permanent_failure(
    db: str, tenant_source: str, target: Target
) -> None:
    """localhost resolves to loopback, which this runner is not allowed to reach."""
    url = target.url("/ok").replace("127.0.0.1", "localhost")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_endpoint('acme', 'crm', %s)", (url,))
        conn.execute("select hookline.add_subscription('crm', '*')")
        conn.execute("select hookline.ingest('acme-wa', 'w1', 'whatsapp.message.text', '{}')")
    runner = RunnerProcess(db, "guarded", "--allow-network", "10.0.0.0/8")
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            wait_until(lambda: conn.execute("select count(*) from hookline.dead_letters").fetchone()[0] == 1,
                       what="the delivery to go dead")  # fmt: skip
            row = conn.execute(
                "select state, error_class, reason from hookline.dead_letter_queue"
            ).fetchone()
            attempts = conn.execute("select count(*) from hookline.attempts").fetchone()[0]
    finally:
        runner.stop()
    assert row[:2] == ("dead", "refused")
    assert (
        row[2].startswith("refused: localhost resolves to ")
        and "not in the allowed networks" in row[2]
    )
    assert attempts == 1
    assert target.requests == []


def test_a_bad_allow_list_is_a_usage_error(db: str) -> None:
    run = hookline("runner", "--dsn", db, "--allow-network", "10.0.0.0/33")
    assert run.returncode == 2 and "--allow-network" in run.stderr
