"""The outbox half of `hookline runner`: sends claimed WhatsApp messages to the Cloud API.

Same loop as the delivery runner (claim, send, complete in batches, release on stop); what
differs is the request: `POST {graph url}/{version}/{phone-number-id}/messages` with the
sender's access token, and the answer it reports (the wamid, or Graph's `error.code`). Every
decision about the message (retry, throttle, pause, breaker) is made by
`hookline.complete_messages`. Nothing here logs the token, the recipient or the message text.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from hookline import queries, telemetry
from hookline.runner import (
    Runner,
    failure,
    read_at_most,
    request_timeout,
    retry_after_seconds,
)
from hookline.sealing import opener

# Graph answers are small; a larger body is not an answer worth parsing.
MAX_ANSWER_BYTES = 65536


def graph_answer(status_code: int, content: bytes) -> dict[str, Any]:
    """What a Graph API answer says: the wamid of an accepted message, or the error's code,
    is_transient flag and title. A body that is not Graph's JSON yields the status alone."""
    try:
        doc = json.loads(content[:MAX_ANSWER_BYTES]) if content else None
    except ValueError:
        doc = None
    answer: dict[str, Any] = {"status_code": status_code}
    if not isinstance(doc, dict):
        return answer
    messages = doc.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        if isinstance(wamid, str):
            answer["wamid"] = wamid
    error = doc.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            answer["error_code"] = code
        if isinstance(error.get("is_transient"), bool):
            answer["is_transient"] = error["is_transient"]
        if isinstance(error.get("message"), str):
            answer["error_title"] = error["message"][:200]
        if isinstance(error.get("fbtrace_id"), str):
            answer["fbtrace_id"] = error["fbtrace_id"][:64]  # what Meta's support asks for
    return answer


class OutboundRunner(Runner):
    WHAT = "messages"
    ID = "message_id"
    CLAIM = queries.CLAIM_MESSAGES
    COMPLETE = queries.COMPLETE_MESSAGES
    RELEASE = queries.RELEASE_MESSAGES
    NEXT_DUE = queries.SECONDS_TO_NEXT_MESSAGE
    LISTEN = queries.LISTEN_OUTBOX
    RUNS_JOBS = False  # the delivery runner of the same process runs them
    TIMEOUT_MS = 4  # the claimed row's timeout_ms column
    # The row's send_within_ms: a message is started within the send margin of its claim or
    # given back unsent (claim_messages counts a number's claims over 1 s plus that margin).
    SEND_WITHIN_MS = 6
    # claim_messages' rate limits count claims: a message is sent as soon as it is claimed
    # (within the send margin), never held waiting for a slot.
    AHEAD = 0

    def _client(self) -> aiohttp.ClientSession:
        """The Graph API's base URL is the operator's setting, not a tenant's: no address guard
        (it resolves to public addresses, which the endpoints' guard refuses)."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.s.concurrency),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def _deliver(self, http: aiohttp.ClientSession, row: tuple[Any, ...]) -> None:
        message_id, lease_token, phone_number_id, access_token, timeout_ms, body, _within = row
        result: dict[str, Any] = {"message_id": message_id, "lease_token": str(lease_token)}
        url = f"{self.s.graph_url.rstrip('/')}/{self.s.graph_version}/{phone_number_id}/messages"
        headers = {
            "authorization": f"Bearer {opener()(access_token)}",
            "content-type": "application/json",
        }
        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(timeout_ms / 1000),
                http.post(
                    url, data=body.encode(), headers=headers, allow_redirects=False,
                    timeout=request_timeout(timeout_ms),
                ) as resp,
            ):  # fmt: skip
                content = await read_at_most(resp, MAX_ANSWER_BYTES)
                result.update(graph_answer(resp.status, content))
                result["retry_after_s"] = retry_after_seconds(resp.headers.get("retry-after"))
        except Exception as exc:  # the one classification (runner.failure); no excerpt here
            result["error_class"] = failure(exc)["error_class"]
        result["duration_ms"] = int((time.monotonic() - started) * 1000)
        telemetry.attempt(self.WHAT, result, phone_number_id=phone_number_id)
        self.results.append(result)
        self.results_ready.set()
