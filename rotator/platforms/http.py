"""Shared HTTP plumbing for every platform client: timeouts, retries, errors and redaction."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
# Server messages are echoed into exceptions; keep them short so a whole response body
# (which may quote request values) never lands in a log.
_MAX_SERVER_MESSAGE = 200


class PlatformError(Exception):
    """A platform call failed; the message names the service, the call and the next step."""

    def __init__(
        self,
        service: str,
        call: str,
        problem: str,
        next_step: str,
        *,
        status_code: int | None = None,
    ) -> None:
        self.service = service
        self.call = call
        self.problem = problem
        self.next_step = next_step
        self.status_code = status_code
        super().__init__(f"{service} {call}: {problem}. Next step: {next_step}")


class AuthError(PlatformError):
    """The token is missing, invalid, revoked, or lacks access to the resource."""


class NotFound(PlatformError):
    """The project, environment, service, variable, deployment or key does not exist."""


class RateLimited(PlatformError):
    """The platform kept answering 429 (or asked us to wait longer than we are willing to)."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class PlatformUnavailable(PlatformError):
    """5xx answers or transport failures (including timeouts) outlasted the retries."""


class RequestRejected(PlatformError):
    """The platform refused the request as invalid (4xx other than auth/404/429, GraphQL errors)."""


class DeploymentTimeout(PlatformError):
    """A deployment did not reach a terminal status within the allowed time."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret (and its percent-encoded form) in ``text`` with a marker."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, REDACTED)
    return text


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def parse_rate_limit_reset(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from ``X-RateLimit-Reset``/``RateLimit-Reset``.

    Platforms write it differently: Resend (and the IETF draft) as seconds until the reset
    (api/resend.md §6); Railway documents "the time at which the current window ends"
    without a format (api/railway.md §11), and others send epoch seconds, epoch milliseconds
    or a date. A plain number is read as epoch milliseconds above 1e12, epoch seconds above
    1e9, else as seconds to wait.
    """
    if not value:
        return None
    value = value.strip()
    now = now or datetime.now(UTC)
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number > 1e12:
            number /= 1000.0
        if number > 1e9:
            return max(0.0, number - now.timestamp())
        return max(0.0, number)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_retry_after(value, now=now)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RateLimitStatus:
    """What the last answer said about the request budget (None: not said)."""

    limit: int | None = None
    remaining: int | None = None
    reset_after: float | None = None  # seconds from when the answer came

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitStatus:
        """Railway's ``X-RateLimit-*`` (api/railway.md §11), Resend's unprefixed
        ``ratelimit-*`` (api/resend.md §6); Vercel's are unconfirmed but read if present."""
        def number(name: str) -> int | None:
            raw = headers.get(f"x-ratelimit-{name}") or headers.get(f"ratelimit-{name}")
            try:
                return int(float(raw)) if raw is not None else None
            except ValueError:
                return None
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        return cls(number("limit"), number("remaining"), parse_rate_limit_reset(reset))


def _body_reset(response: httpx.Response) -> float | None:
    """Vercel's 429 body: ``error.limit.reset`` (epoch seconds) / ``resetMs`` (api/vercel.md §12)."""
    try:
        limit = response.json()["error"]["limit"]
        reset = limit.get("resetMs") or limit.get("reset")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return parse_rate_limit_reset(str(reset)) if reset is not None else None


def _json_parses(response: httpx.Response) -> bool:
    """False only for a body that says it is JSON and is not."""
    if "json" not in response.headers.get("Content-Type", "") or not response.content:
        return True
    try:
        response.json()
    except ValueError:
        return False
    return True


def _is_quota(response: httpx.Response) -> bool:
    """Resend's daily/monthly email quotas are 429s too, but no wait within a run ends them
    (api/resend.md §6); so is Vercel's deployment-creation limit, `builds_rate_limited`, which
    Vercel's CLI never retries (api/vercel.md §12): neither is retried."""
    try:
        body = response.json()
        name = body.get("name") or ""
        error = body.get("error")
        code = error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return False
    return (isinstance(name, str) and name.endswith("_quota_exceeded")
            or code == "builds_rate_limited")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry 429, 5xx and transport failures."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Seconds one call may spend waiting on rate limits (Retry-After, a used-up window):
    # a wait that would go past it is reported instead, with the time the limit lifts.
    max_rate_limit_wait: float = 300.0
    # 429 answers are retried while the wait budget lasts, up to this many attempts.
    max_rate_limited_attempts: int = 12

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with equal jitter for retry number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def make_http_client(
    base_url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    connect_timeout: float | None = None,
) -> httpx.Client:
    """An httpx.Client with explicit connect/read/write/pool timeouts and no env proxies."""
    connect = connect_timeout if connect_timeout is not None else min(timeout, 10.0)
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers),
        timeout=httpx.Timeout(timeout, connect=connect),
        # Sandbox and production both must not silently go through a proxy from the env.
        trust_env=False,
        follow_redirects=False,
    )


ErrorMessageParser = Callable[[httpx.Response], str]


def default_error_message(response: httpx.Response) -> str:
    """Best-effort short message from a JSON error body (Vercel, Resend, GraphQL shapes)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error") or body.get("err")
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            return f"{error['message']} ({code})" if code else str(error["message"])
        if body.get("message"):
            name = body.get("name")
            return f"{body['message']} ({name})" if name else str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))
    return response.reason_phrase or f"HTTP {response.status_code}"


@dataclass(frozen=True)
class ServiceHints:
    """What to tell the user to do next, per failure kind, for one platform."""

    service: str
    auth: str
    not_found: str = "check the id or name; list the resources to find the right one"
    rate_limited: str = "wait for the rate-limit window to pass, then run the command again"
    unavailable: str = "the platform may be degraded; check its status page and retry later"
    rejected: str = "check the request inputs; this is not retried automatically"


class PlatformHttp:
    """One platform's HTTP session: retries, Retry-After, error mapping, secret redaction.

    Every client owns one; nothing is shared between instances. ``sleeps`` records each
    back-off actually waited (seconds), so callers and tests can see what happened.
    """

    def __init__(
        self,
        client: httpx.Client,
        hints: ServiceHints,
        *,
        retry: RetryPolicy | None = None,
        secrets: Collection[str | None] = (),
        sleep: Callable[[float], None] = time.sleep,
        error_message: ErrorMessageParser = default_error_message,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.hints = hints
        self.retry = retry or RetryPolicy()
        self._secrets = [s for s in secrets if s]
        self._sleep = sleep
        self._error_message = error_message
        self._rng = rng or random.Random()
        self.sleeps: list[float] = []
        self.attempts: list[str] = []
        self.rate_limit = RateLimitStatus()
        # monotonic time before which no request is sent: the platform said the window's
        # budget is used up (remaining 0) and when it resets
        self._paused_until: float | None = None

    def __repr__(self) -> str:
        return f"PlatformHttp(service={self.hints.service!r}, base_url={str(self.client.base_url)!r})"

    def add_secret(self, value: str | None) -> None:
        """Also redact ``value`` from every message this session produces from now on."""
        if value:
            self._secrets.append(value)

    def close(self) -> None:
        self.client.close()

    def redact(self, text: str, extra: Iterable[str | None] = ()) -> str:
        return redact(text, [*self._secrets, *extra])

    def error(
        self,
        kind: type[PlatformError],
        call: str,
        problem: str,
        *,
        status_code: int | None = None,
        extra_secrets: Iterable[str | None] = (),
        **kwargs: Any,
    ) -> PlatformError:
        """Build an error of ``kind`` with the right next step and every secret redacted."""
        next_step = {
            AuthError: self.hints.auth,
            NotFound: self.hints.not_found,
            RateLimited: self.hints.rate_limited,
            PlatformUnavailable: self.hints.unavailable,
        }.get(kind, self.hints.rejected)
        problem = self.redact(problem, extra_secrets)
        return kind(self.hints.service, call, problem, next_step, status_code=status_code, **kwargs)

    def request(
        self,
        call: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        accept_statuses: Collection[int] = (),
        extra_secrets: Iterable[str | None] = (),
        never_applied: Collection[int] = (),
    ) -> httpx.Response:
        """Send one logical call, retrying what is safe to retry; raise a PlatformError otherwise.

        Non-idempotent calls are retried only when the platform provably did not act:
        a 429 answer, a failure to connect, or a 5xx status in ``never_applied`` (the
        platform documents that it is always safe to retry, e.g. Neon's 503). Any other 5xx
        or a read timeout could hide a completed side effect (a second Resend key, a second
        deployment).
        """
        extra = list(extra_secrets)
        attempt = 0
        rate_limited = 0
        waited = 0.0  # on rate limits, this call
        while True:
            attempt += 1
            waited += self._pace(call, waited, extra)
            self.attempts.append(call)
            try:
                response = self.client.request(method, url, json=json, params=params, headers=headers)
            except httpx.TransportError as exc:
                retryable = idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                problem = f"request {what} ({type(exc).__name__}) after {attempt} attempt(s)"
                if retryable and attempt < self.retry.max_attempts:
                    self._wait(call, self.retry.backoff(attempt, self._rng), problem, extra)
                    continue
                if not idempotent and not retryable:
                    problem += "; the call is not idempotent, so it was not retried and may have taken effect"
                raise self.error(
                    PlatformUnavailable, call, problem, extra_secrets=extra
                ) from None

            status = response.status_code
            self._note_budget(response)
            if status < 400 and not _json_parses(response):
                # a truncated or garbled answer (a proxy, a platform glitch): say so in one
                # line instead of failing later on a shape no caller expects
                suffix = "" if idempotent else "; the call may have taken effect"
                raise self.error(PlatformUnavailable, call,
                                 f"HTTP {status} with a malformed JSON body{suffix}",
                                 status_code=status, extra_secrets=extra)
            if status < 400 or status in accept_statuses:
                return response
            message = self._error_message(response)[:_MAX_SERVER_MESSAGE]
            if status == 429:
                rate_limited += 1
                attempt -= 1  # 429s have their own allowance: the wait budget
                if _is_quota(response):
                    raise self.error(RateLimited, call, f"quota exceeded (HTTP 429: {message})",
                                     status_code=status, extra_secrets=extra)
                delay = parse_retry_after(response.headers.get("Retry-After"))
                if delay is None:
                    delay = _body_reset(response) or self.rate_limit.reset_after
                if delay is None:
                    delay = self.retry.backoff(rate_limited, self._rng)
                if waited + delay > self.retry.max_rate_limit_wait:
                    raise self._over_budget(call, f"HTTP 429: {message}", delay, waited, extra)
                if rate_limited >= self.retry.max_rate_limited_attempts:
                    raise self.error(
                        RateLimited, call,
                        f"still rate limited after {rate_limited} attempts (HTTP 429: {message})",
                        status_code=status, retry_after=delay, extra_secrets=extra,
                    )
                self._paused_until = None  # Retry-After is the authority on this wait
                self._wait(call, delay, f"HTTP 429 ({message})", extra)
                waited += delay
                continue
            if status >= 500:
                retryable = idempotent or status in never_applied
                if retryable and attempt < self.retry.max_attempts:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    delay = self.retry.backoff(attempt, self._rng)
                    if retry_after is not None:
                        delay = max(delay, min(retry_after, self.retry.max_rate_limit_wait))
                    self._wait(call, delay, f"HTTP {status} ({message})", extra)
                    continue
                suffix = ("" if retryable
                          else "; not retried because the call is not idempotent")
                raise self.error(
                    PlatformUnavailable, call,
                    f"HTTP {status} after {attempt} attempt(s): {message}{suffix}",
                    status_code=status, extra_secrets=extra,
                )
            kind: type[PlatformError] = {401: AuthError, 403: AuthError, 404: NotFound}.get(
                status, RequestRejected
            )
            raise self.error(
                kind, call, f"HTTP {status}: {message}", status_code=status, extra_secrets=extra
            )

    def _note_budget(self, response: httpx.Response) -> None:
        """Remember the budget the answer states; a used-up window pauses the next request."""
        status = RateLimitStatus.from_headers(response.headers)
        if status == RateLimitStatus():
            return
        self.rate_limit = status
        if status.remaining is not None and status.remaining <= 0 and status.reset_after:
            self._paused_until = time.monotonic() + status.reset_after

    def _pace(self, call: str, waited: float, extra: Iterable[str | None]) -> float:
        """Wait out a used-up window before sending (within the budget); seconds waited."""
        if self._paused_until is None:
            return 0.0
        delay = self._paused_until - time.monotonic()
        self._paused_until = None
        if delay <= 0:
            return 0.0
        if waited + delay > self.retry.max_rate_limit_wait:
            raise self._over_budget(call, "the request budget of this window is used up "
                                    f"(limit {self.rate_limit.limit or '?'})", delay, waited, extra)
        self._wait(call, delay, "request budget used up (remaining 0)", extra)
        return delay

    def _over_budget(self, call: str, why: str, delay: float, waited: float,
                     extra: Iterable[str | None]) -> RateLimited:
        until = datetime.now(UTC) + timedelta(seconds=delay)
        return self.error(  # type: ignore[return-value]
            RateLimited, call,
            f"rate limited ({why}); the platform asks to wait {delay:.0f}s, until "
            f"{until:%H:%M:%S} UTC, beyond this run's rate-limit wait budget "
            f"({self.retry.max_rate_limit_wait:g}s, {waited:.0f}s already waited)",
            status_code=429, retry_after=delay, extra_secrets=extra,
        )

    def _wait(self, call: str, delay: float, why: str, extra: Iterable[str | None]) -> None:
        logger.info(
            "%s %s: %s; retrying in %.2fs", self.hints.service, call, self.redact(why, extra),
            delay,
        )
        self.sleeps.append(delay)
        self._sleep(delay)


def poll_until(
    fetch: Callable[[], Any],
    is_done: Callable[[Any], bool],
    *,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Any, bool]:
    """Call ``fetch`` until ``is_done`` or ``timeout``; return (last value, finished?)."""
    deadline = clock() + timeout
    while True:
        value = fetch()
        if is_done(value):
            return value, True
        if clock() >= deadline:
            return value, False
        sleep(interval)
