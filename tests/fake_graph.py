"""A fake WhatsApp Cloud (Graph) API on 127.0.0.1: a real server with scripted answers.

    POST /{version}/{phone-number-id}/messages

Each recipient (the body's `to` or `recipient`) answers from its script, in order, the last
answer repeating; a number's script applies to recipients without one; the default is success.
`chooser`, when set, picks every answer instead (a function of the request). An answer is one of:

    "ok"                 200 with a generated wamid
    ("error", S, CODE)   status S with a Graph error body of that code (CODE None: no body)
    ("slow", MS)         200 with a wamid after MS milliseconds (past a timeout: accepted,
                         the answer lost)
    "hang"               no answer until the server stops (past any timeout)
    "reset"              the connection reset (RST) once the body is read: not accepted

Every request is recorded (path, headers, parsed body, wall-clock time) before it is answered;
its answer and, when it was accepted, its wamid are set on the record as it is answered.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.target import _Server

Answer = Any


@dataclass
class GraphRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.time(), comparable with the database's clock on this machine
    answer: Answer = None
    wamid: str | None = None

    @property
    def recipient(self) -> str:
        return self.body.get("to") or self.body.get("recipient")


class FakeGraph:
    def __init__(self) -> None:
        self.requests: list[GraphRequest] = []
        self.wamids: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.scripts: dict[str, list[Answer]] = {}
        self.number_scripts: dict[str, list[Answer]] = {}
        self._seen: dict[str, int] = {}
        self.chooser: Callable[[GraphRequest], Answer] | None = None
        counter = itertools.count(1)
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                req = GraphRequest(
                    self.path, {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw), time.time(),
                )  # fmt: skip
                number = self.path.strip("/").split("/")[1]
                with graph.lock:
                    graph.requests.append(req)
                    script = graph.scripts.get(req.recipient) or graph.number_scripts.get(number)
                    key = req.recipient if req.recipient in graph.scripts else f"number:{number}"
                    n = graph._seen.get(key, 0)
                    graph._seen[key] = n + 1
                if graph.chooser is not None:
                    answer = graph.chooser(req)
                else:
                    answer = script[min(n, len(script) - 1)] if script else "ok"
                req.answer = answer
                self.respond(answer, next(counter), req)

            def respond(self, answer: Answer, n: int, req: GraphRequest) -> None:
                if answer == "reset":
                    linger = struct.pack("ii", 1, 0)  # close with RST
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.close_connection = True
                    self.connection.close()
                    return
                if answer == "hang":
                    graph.stopping.wait(60)
                    self.close_connection = True
                    return
                if isinstance(answer, tuple) and answer[0] == "slow":
                    time.sleep(answer[1] / 1000)
                    answer = "ok"
                if answer == "ok":
                    wamid = f"wamid.FAKE{n:06d}"
                    with graph.lock:
                        graph.wamids.append(wamid)
                        req.wamid = wamid
                    self.answer(200, {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": req.recipient, "wa_id": req.recipient.lstrip("+")}],
                        "messages": [{"id": wamid}],
                    })  # fmt: skip
                    return
                _, status, code = answer
                if code is None:
                    self.answer(status, None)
                    return
                self.answer(status, {"error": {
                    "message": f"(#{code}) scripted error", "type": "OAuthException", "code": code,
                    "error_data": {"messaging_product": "whatsapp", "details": "scripted"},
                    "fbtrace_id": "AbCdEf",
                }})  # fmt: skip

            def answer(self, status: int, doc: dict[str, Any] | None) -> None:
                body = json.dumps(doc).encode() if doc is not None else b""
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # the client may have timed out

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def script(self, recipient: str, *answers: Answer) -> None:
        with self.lock:
            self.scripts[recipient] = list(answers)

    def script_number(self, phone_number_id: str, *answers: Answer) -> None:
        with self.lock:
            self.number_scripts[phone_number_id] = list(answers)
            self._seen.pop(f"number:{phone_number_id}", None)

    def to(self, recipient: str) -> list[GraphRequest]:
        with self.lock:
            return [r for r in self.requests if r.recipient == recipient]

    def start(self) -> FakeGraph:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
