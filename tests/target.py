"""A scripted HTTP target on 127.0.0.1: a real server whose answer depends on the path.

    /ok              200
    /fail/N          500 for the first N requests of each webhook-id, then 200
    /500             500 always
    /429             429 with Retry-After: 1 for the first request of each webhook-id, then 200
    /hang            answers nothing until the server stops (past any timeout)
    /reset           resets the connection (RST) without answering
    /410             410 Gone
    /slow/MS         200 after MS milliseconds
    /status/N        status N, whatever it is (999 too)

Every request is recorded (path, headers, body) before it is answered; `most_at_once` is the
largest number of requests the target was answering at the same time, `most_at_once_by_path`
the same for each path (a path per endpoint: /slow/50/hot and /slow/50/cold are two).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default listen backlog (5) drops connections under load


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Target:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.at_once = 0
        self.most_at_once = 0
        self.at_once_by_path: Counter[str] = Counter()
        self.most_at_once_by_path: Counter[str] = Counter()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                req = Request(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with target.lock:
                    target.requests.append(req)
                    target.at_once += 1
                    target.most_at_once = max(target.most_at_once, target.at_once)
                    target.at_once_by_path[self.path] += 1
                    target.most_at_once_by_path[self.path] = max(
                        target.most_at_once_by_path[self.path], target.at_once_by_path[self.path]
                    )
                    seen = sum(
                        1 for r in target.requests
                        if r.path == self.path and r.headers.get("webhook-id") == req.headers.get("webhook-id")
                    )  # fmt: skip
                try:
                    self.respond(seen)
                finally:
                    with target.lock:
                        target.at_once -= 1
                        target.at_once_by_path[self.path] -= 1

            def respond(self, seen: int) -> None:
                parts = self.path.strip("/").split("/")
                if parts[0] == "ok":
                    self.answer(200)
                elif parts[0] == "fail":
                    self.answer(500 if seen <= int(parts[1]) else 200)
                elif parts[0] == "500":
                    self.answer(500, b"boom")
                elif parts[0] == "429" and seen == 1:
                    self.answer(429, headers={"retry-after": "1"})
                elif parts[0] == "429":
                    self.answer(200)
                elif parts[0] == "hang":
                    target.stopping.wait(60)
                    self.close_connection = True
                elif parts[0] == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                elif parts[0] == "410":
                    self.answer(410)
                elif parts[0] == "status":
                    self.answer(int(parts[1]))
                elif parts[0] == "slow":
                    time.sleep(int(parts[1]) / 1000)
                    self.answer(200)
                else:
                    self.answer(404)

            def answer(
                self, status: int, body: bytes = b"ok", headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def start(self) -> Target:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def ids(self, prefix: str = "") -> Counter[str]:
        """How many times each webhook-id reached a path starting with prefix."""
        with self.lock:
            return Counter(
                r.headers["webhook-id"] for r in self.requests if r.path.startswith(prefix)
            )
