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
from prometheus_client.parser import text_string_to_metric_families

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


def metric(url: str, name: str, **labels: str) -> float:
    """A sample's value on the metrics endpoint at url (0 when it has none yet)."""
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


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
    new ones (accepts and closes them) until `up()`; `accepted` counts the connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_up = True
        self.accepted = 0
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
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
        self.cut()

    def cut(self) -> None:
        """Close every open connection (new ones are accepted as before)."""
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


class DroppingProxy(Proxy):
    """A TCP proxy to the database that, for its first `drops` connections, lets the connection
    be made (startup and authentication, up to the server's first ReadyForQuery) and closes
    both sides when the client sends its first statement; later connections pass. What a client
    sees when the server restarts, or a pooler drops the connection, between its connect and
    its query: the connection closed, no SQLSTATE, and a server that answers again at once."""

    READY = b"Z\x00\x00\x00\x05"  # ReadyForQuery: type, length 5 (then the status byte)

    def __init__(self, target_port: int, drops: int) -> None:
        self.drops, self.dropped = drops, 0
        super().__init__(target_port)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.open += [client, upstream]
                drop = self.dropped < self.drops
                self.dropped += drop
            if not drop:
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
                continue
            ready = threading.Event()
            threading.Thread(target=self._from_server, args=(upstream, client, ready), daemon=True).start()  # fmt: skip
            threading.Thread(target=self._from_client, args=(client, upstream, ready), daemon=True).start()  # fmt: skip

    @classmethod
    def _from_server(cls, src: socket.socket, dst: socket.socket, ready: threading.Event) -> None:
        tail = b""
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if cls.READY in tail + data:
                    ready.set()
                tail = data[-len(cls.READY) :]
                dst.sendall(data)
        cls._close(src, dst)

    @classmethod
    def _from_client(cls, src: socket.socket, dst: socket.socket, ready: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if ready.is_set():
                    break  # the first statement after the connect: the connection is dropped
                dst.sendall(data)
        cls._close(src, dst)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
