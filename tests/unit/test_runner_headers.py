"""The byte-moving helpers of the runner: Retry-After parsing and signed headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from standardwebhooks.webhooks import Webhook

from hookline.runner import retry_after_seconds, signed_headers


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120") == 120.0
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute) <= 60
    assert retry_after_seconds(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_signed_headers_verify_with_standardwebhooks() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"type": "t", "timestamp": "2026-01-01T00:00:00Z", "data": {}}'
    headers = signed_headers(secret, "dlv_1", body)
    assert Webhook(secret).verify(body, headers)["type"] == "t"
    assert headers["webhook-id"] == "dlv_1"
