"""What the ingress hands PostgreSQL for a body jsonb cannot hold (the HTTP tests show the
whole path; these pin the edge cases of the escape scan)."""

from __future__ import annotations

import json

import pytest

from hookline.ingress import for_jsonb


@pytest.mark.parametrize(
    "text",
    [
        r'{"a":"\u00e9 \ud83d\udc4d"}',  # a surrogate pair is one character: jsonb takes it
        r'{"a":"\\u0000 \\ud83d"}',  # escaped backslashes: literal text, nothing to replace
        "not json \\u0000",  # not JSON: left to the database to refuse
    ],
)
def test_what_jsonb_takes_is_passed_unchanged(text: str) -> None:
    assert for_jsonb(text) == (text, None)


def test_nul_and_lone_surrogates_are_replaced_and_named_by_pointer() -> None:
    text = r'{"v":[{"t":"x\u0000y"},{"t":"\ud83d!"},{"t":"ok \udc4d"}],"k\u0000/~":"z"}'
    body, pointers = for_jsonb(text)
    assert json.loads(body) == {
        "v": [{"t": "x\ufffdy"}, {"t": "\ufffd!"}, {"t": "ok \ufffd"}],
        "k\ufffd/~": "z",
    }
    assert pointers == ["/k\ufffd~1~0", "/v/0/t", "/v/1/t", "/v/2/t"]
