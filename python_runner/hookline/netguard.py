"""Which addresses the runner may connect to (SSRF protection), checked at connect time.

An endpoint's host is resolved when the runner connects, not when the endpoint is registered
(DNS can change), and every address it resolves to must lie in the allowed networks. Link-
local and cloud metadata addresses are refused whatever the allow list says. A refused
connection raises AddressRefused; the runner reports it as error class `refused`, which
hookline.complete treats as a permanent failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

# Internal handlers: loopback, private IPv4 and unique-local IPv6 networks.
DEFAULT_ALLOWED = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)

# Never, whatever the allow list: link-local (cloud metadata at 169.254.169.254 and
# fd00:ec2::254 among them), Alibaba's metadata address, "this network", multicast.
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32",
              "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8")
)  # fmt: skip

# IPv6 forms that carry an IPv4 address a translator or tunnel may deliver to: NAT64 (well-
# known and local-use prefixes), IPv4-translated (SIIT), IPv4-compatible. IPv4-mapped, 6to4 and
# Teredo have their own properties in ipaddress.
NAT64 = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96")
)
COMPATIBLE = ipaddress.ip_network("::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The endpoint's host resolves to an address the runner may not connect to."""


def parse_networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


class Guard:
    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED) -> None:
        self.allowed = parse_networks(allowed)

    def refusal(self, address: str) -> str | None:
        """Why the address is refused, or None when it is allowed."""
        ip = embedded_ipv4(ipaddress.ip_address(address.split("%", 1)[0]))
        if any(ip in net for net in ALWAYS_REFUSED):
            return f"{ip} is link-local or a metadata address (always refused)"
        if not any(ip in net for net in self.allowed):
            return f"{ip} is not in the allowed networks"
        return None


def embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 transition form leads to (the one that is checked, so a
    metadata address cannot hide behind NAT64 or 6to4 when ::/0 is allowed), else the address.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    last32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in NAT64):
        return last32
    if ip in COMPATIBLE and int(ip) > 1:  # not :: nor ::1
        return last32
    return ip


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard allows: the name is
    resolved once, checked, and the connection made to the checked address (no second lookup
    that DNS rebinding could answer differently)."""

    def __init__(self, guard: Guard, resolver: Resolver = resolve) -> None:
        self.guard = guard
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None
                          ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            reason = self.guard.refusal(address)
            if reason:
                raise AddressRefused(f"{host} resolves to {reason}")
        return await self.inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:  # fmt: skip
        raise AddressRefused("unix sockets are not endpoints")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(
    guard: Guard, limits: httpx.Limits, resolver: Resolver = resolve
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through GuardedBackend."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(guard, resolver),
    )
    return transport
