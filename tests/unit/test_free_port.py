"""free_port: a port that stays free until the server it is for binds it."""

from __future__ import annotations

import socket
from pathlib import Path

from hookline.pgcluster import free_port


def test_a_free_port_is_below_the_ephemeral_range_and_never_given_twice() -> None:
    # CI failed once on `ingress exited: [Errno 98] ... address already in use`: free_port
    # bound port 0 and closed it, and the ingress's metrics endpoint (port 0) got the same
    # port before the ingress bound it. Below the ephemeral range, no bind to 0 lands on it.
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    top = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 <= p < top for p in ports), (top, ports)
    held = []
    try:
        for _ in range(500):  # binds to port 0 meanwhile, as other servers make them
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
        assert not {s.getsockname()[1] for s in held} & set(ports)
        with socket.socket() as s:
            s.bind(("127.0.0.1", ports[0]))  # and it is free for the server it is for
    finally:
        for s in held:
            s.close()
