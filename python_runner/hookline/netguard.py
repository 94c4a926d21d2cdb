"""Which addresses the runner may connect to (SSRF protection), checked at connect time.

An endpoint's host is resolved when the runner connects, not when the endpoint is registered
(DNS can change), and every address it resolves to must lie in the allowed networks. Link-
local and cloud metadata addresses are refused whatever the allow list says. A refused
connection raises AddressRefused; the runner reports it as error class `refused`, which
hookline.complete treats as a permanent failure.

The runner's HTTP client is aiohttp; `guarded_connector` makes its connections go through the
guard twice: the resolver refuses a name any of whose addresses is not allowed (before any
connection), and the socket factory checks the very address each socket connects to (IP
literals, which need no resolver, included). A name is resolved once per connection and the
connection is made to the checked address: no second lookup that DNS rebinding could answer
differently.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

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

    def socket(self, addr_info: tuple[int, int, int, str, tuple[object, ...]]) -> socket.socket:
        """aiohttp's socket factory: a socket for an allowed address, else AddressRefused."""
        family, type_, proto, _name, address = addr_info
        reason = self.refusal(str(address[0]))
        if reason:
            raise AddressRefused(reason)
        return socket.socket(family, type_, proto)


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


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` (aiohttp's default resolver) and refuses a name any of whose
    addresses the guard refuses."""

    def __init__(self, guard: Guard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            reason = self.guard.refusal(result["host"])
            if reason:
                raise AddressRefused(f"{host} resolves to {reason}")
        return results

    async def close(self) -> None:
        await self.inner.close()


def guarded_connector(
    guard: Guard, limit: int, inner: AbstractResolver | None = None
) -> aiohttp.TCPConnector:
    """An aiohttp connector (at most `limit` connections) that connects only where the guard
    allows. Addresses are tried one after another (no happy eyeballs race), so the first
    refused address ends the request with AddressRefused."""
    return aiohttp.TCPConnector(
        limit=limit,
        resolver=GuardedResolver(guard, inner),
        socket_factory=guard.socket,
        happy_eyeballs_delay=None,
    )
