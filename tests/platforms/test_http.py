"""The shared HTTP layer: Retry-After parsing, backoff bounds and redaction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from rotator.platforms.http import RetryPolicy, parse_retry_after, redact


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7") == 7.0


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 1, 8, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30.0)


@pytest.mark.parametrize("header", [None, "", "soon"])
def test_unusable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header) is None


def test_backoff_grows_exponentially_and_stays_bounded() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delay = policy.backoff(attempt, rng)
        assert ceiling / 2 <= delay <= ceiling


def test_redact_removes_plain_and_percent_encoded_secret() -> None:
    text = "url postgresql://u:p%40ss%2Fword@h/db and value p@ss/word"
    assert "p@ss/word" not in redact(text, ["p@ss/word"])
    assert "p%40ss%2Fword" not in redact(text, ["p@ss/word"])
