"""Rate limits against the real sandbox servers: the clients pace from the budget headers each
platform states, wait out Retry-After (or what stands in for it) within a budget, and report
a wait beyond it with the time the limit lifts. Budgets here are small; no timing asserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from rotator.platforms.http import RateLimited, RetryPolicy, parse_rate_limit_reset
from rotator.sandbox.rate_limit import RequestWindow
from rotator.sandbox.sandbox import Sandbox

NOW = datetime(2026, 1, 8, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0),  # Resend / IETF draft: seconds until the reset
    (str(int((NOW + timedelta(seconds=30)).timestamp())), 30.0),  # epoch seconds
    (str(int((NOW + timedelta(seconds=30)).timestamp() * 1000)), 30.0),  # epoch ms
    ("2026-01-08T12:00:45Z", 45.0),
    (format_datetime(NOW + timedelta(seconds=20), usegmt=True), 20.0),
    (str(int((NOW - timedelta(seconds=5)).timestamp())), 0.0),  # already past
])
def test_reset_header_in_every_form(header: str, seconds: float) -> None:
    assert parse_rate_limit_reset(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "later"])
def test_unusable_reset_is_none(header: str | None) -> None:
    assert parse_rate_limit_reset(header, now=NOW) is None


def test_railway_client_paces_from_x_ratelimit_headers(seeded_sandbox: Sandbox) -> None:
    """A used-up window (remaining 0) makes the client wait for its reset before sending the
    next request, so the platform never has to refuse one."""
    seeded_sandbox.railway.request_window = RequestWindow(limit=3, seconds=1.0)
    with seeded_sandbox.railway_client(retry=RetryPolicy(max_rate_limit_wait=5)) as client:
        before = len(seeded_sandbox.railway.requests)
        assert client.list_projects()
        per_listing = len(seeded_sandbox.railway.requests) - before  # workspaces, then projects
        for _ in range(4):
            assert client.list_projects()
        assert client.http.rate_limit.limit == 3
        paced = [s for s in client.http.sleeps if s > 0]
    assert len(seeded_sandbox.railway.requests) - before == 5 * per_listing, \
        "a request was refused (429)"
    assert paced, "the client never waited for the window to reset"


def test_railway_used_up_window_beyond_the_budget_is_reported(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.railway_client() as client:
        before = len(seeded_sandbox.railway.requests)
        client.list_projects()
        per_listing = len(seeded_sandbox.railway.requests) - before  # workspaces, then projects
    # a window that one listing uses up, for an hour
    seeded_sandbox.railway.request_window = RequestWindow(limit=per_listing, seconds=3600.0)
    with seeded_sandbox.railway_client(retry=RetryPolicy(max_rate_limit_wait=2)) as client:
        client.list_projects()
        with pytest.raises(RateLimited) as error:
            client.list_projects()
        assert client.http.sleeps == []
    message = str(error.value)
    assert "beyond this run's rate-limit wait budget (2s" in message
    assert " UTC" in message and "Next step:" in message and "\n" not in message


def test_retry_after_within_the_budget_is_waited_out(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("workspace", kind="http429", retry_after=0.2, times=2)
    with seeded_sandbox.railway_client(retry=RetryPolicy(max_rate_limit_wait=1)) as client:
        assert client.list_projects()
        assert client.http.sleeps == [0.2, 0.2]


def test_retry_after_beyond_the_budget_is_not_slept(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("workspace", kind="http429", retry_after=30)
    with seeded_sandbox.railway_client(retry=RetryPolicy(max_rate_limit_wait=10)) as client:
        with pytest.raises(RateLimited, match=r"asks to wait 30s, until \d\d:\d\d:\d\d UTC"):
            client.list_projects()
        assert client.http.sleeps == []


def test_more_429s_than_the_attempt_allowance_stop(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("workspace", kind="http429", retry_after=0.01, times=100)
    policy = RetryPolicy(max_rate_limit_wait=60, max_rate_limited_attempts=3)
    with (seeded_sandbox.railway_client(retry=policy) as client,
          pytest.raises(RateLimited, match="still rate limited after 3 attempts")):
        client.list_projects()


def test_vercel_429_without_retry_after_waits_for_the_body_reset(seeded_sandbox: Sandbox) -> None:
    """api/vercel.md §12: fall back to error.limit.reset/resetMs."""
    seeded_sandbox.faults.add("filterProjectEnvs", kind="http429", retry_after=0.3,
                              retry_after_header=False)
    with seeded_sandbox.vercel_client(retry=RetryPolicy(max_rate_limit_wait=5)) as client:
        assert client.list_env("frontend")
        (waited,) = client.http.sleeps
    assert 0 < waited <= 5


def test_resend_budget_headers_are_read(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.resend_client() as client:
        client.list_api_keys()
        status = client.http.rate_limit
    assert status.limit == seeded_sandbox.resend.request_window.limit
    assert status.remaining is not None and status.reset_after is not None


def test_resend_team_budget_is_paced_not_refused(seeded_sandbox: Sandbox) -> None:
    # the sandbox's default: Resend's documented 2 requests/second per team
    assert seeded_sandbox.resend.request_window.limit == 2
    with seeded_sandbox.resend_client(retry=RetryPolicy(max_rate_limit_wait=5)) as client:
        for _ in range(4):
            client.list_api_keys()
        assert any(s > 0 for s in client.http.sleeps)
