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

import httpx

from hookline import queries
from hookline.runner import Runner, failure, retry_after_seconds

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

    def _client(self, limits: httpx.Limits) -> httpx.AsyncClient:
        """The Graph API's base URL is the operator's setting, not a tenant's: no address guard
        (it resolves to public addresses, which the endpoints' guard refuses)."""
        return httpx.AsyncClient(limits=limits, follow_redirects=False)

    async def _deliver(self, http: httpx.AsyncClient, row: tuple[Any, ...]) -> None:
        message_id, lease_token, phone_number_id, access_token, timeout_ms, body = row
        result: dict[str, Any] = {"message_id": message_id, "lease_token": str(lease_token)}
        url = f"{self.s.graph_url.rstrip('/')}/{self.s.graph_version}/{phone_number_id}/messages"
        headers = {"authorization": f"Bearer {access_token}", "content-type": "application/json"}
        started = time.monotonic()
        timeout = timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout):
                resp = await http.post(url, content=body.encode(), headers=headers, timeout=timeout)
            result.update(graph_answer(resp.status_code, resp.content))
            result["retry_after_s"] = retry_after_seconds(resp.headers.get("retry-after"))
        except Exception as exc:  # the one classification (runner.failure); no excerpt here
            result["error_class"] = failure(exc)["error_class"]
        result["duration_ms"] = int((time.monotonic() - started) * 1000)
        self.results.append(result)
        self.results_ready.set()
