"""Running `hookline ingress` as a real process, signing bodies as Meta does, and a TCP proxy
that can drop the database connection on demand."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from hookline.pgcluster import free_port

FIXTURES = Path(__file__).parent / "fixtures"
_names = itertools.count()


def sign(secret: str, body: bytes) -> str:
    """X-Hub-Signature-256 as Meta computes it: over the raw bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


@dataclass
class RunningIngress:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def metrics_url(self) -> str:
        """The metrics endpoint the ingress announced in its log (it runs with port 0)."""
        return announced_metrics_url(self.log)


def announced_metrics_url(log: Path) -> str:
    deadline = time.monotonic() + 30
    while not (found := re.search(r"metrics on (http://\S+/metrics)", log.read_text())):
        assert time.monotonic() < deadline, f"no metrics address announced:\n{log.read_text()}"
        time.sleep(0.05)
    return found[1]


@contextlib.contextmanager
def running_ingress(dsn: str, log: Path, *args: str) -> Iterator[RunningIngress]:
    """`hookline ingress` on a free port, up once /healthz answers; stopped with SIGTERM."""
    port = free_port()
    env = {**os.environ, "HOOKLINE_DSN": dsn}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hookline", "ingress", "--port", str(port),
             "--metrics-port", "0", *args],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"ingress exited:\n{log.read_text()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"ingress did not start:\n{log.read_text()}"
            time.sleep(0.05)
        yield RunningIngress(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Proxy:
    """A TCP proxy to the database on 127.0.0.1; `down()` cuts every connection and refuses
    new ones (accepts and closes them) until `up()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_up = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):  # the first direction to end closes both; the other finds them closed
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def down(self) -> None:
        self.is_up = False
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def up(self) -> None:
        self.is_up = True

    def close(self) -> None:
        self.down()
        self.listener.close()
