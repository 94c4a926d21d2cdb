"""What the runner reads out of a Graph API answer (the SQL side decides what it means)."""

from __future__ import annotations

import json

from hookline.outbound import graph_answer


def test_an_accepted_message_yields_its_wamid() -> None:
    body = {"messaging_product": "whatsapp", "contacts": [{"input": "+1", "wa_id": "1"}],
            "messages": [{"id": "wamid.HBgL", "message_status": "accepted"}]}  # fmt: skip
    assert graph_answer(200, json.dumps(body).encode()) == {
        "status_code": 200,
        "wamid": "wamid.HBgL",
    }


def test_an_error_yields_code_transience_and_title() -> None:
    body = {"error": {"message": "(#2) Service temporarily unavailable", "type": "OAuthException",
                      "code": 2, "is_transient": True, "fbtrace_id": "Az8"}}  # fmt: skip
    assert graph_answer(500, json.dumps(body).encode()) == {
        "status_code": 500, "error_code": 2, "is_transient": True,
        "error_title": "(#2) Service temporarily unavailable", "fbtrace_id": "Az8",
    }  # fmt: skip


def test_a_body_that_is_not_graph_json_yields_the_status_alone() -> None:
    assert graph_answer(502, b"<html>Bad gateway</html>") == {"status_code": 502}
    assert graph_answer(200, b"") == {"status_code": 200}
    assert graph_answer(400, b'{"error": {"code": "190"}}') == {"status_code": 400}
    assert graph_answer(400, b'{"error": {"code": true}}') == {"status_code": 400}
