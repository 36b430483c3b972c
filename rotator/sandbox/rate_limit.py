"""A platform's request budget in the sandbox: a fixed window of N requests, then 429s.

Each sandbox server that has one states it on every answer the way its platform does
(Railway `X-RateLimit-*`, Resend `ratelimit-*`) and answers 429 with `Retry-After` once the
window's budget is used up, so clients are held to pacing from the headers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WindowState:
    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until the window resets
    seconds: float  # the window's length


@dataclass
class RequestWindow:
    limit: int
    seconds: float
    _started: float = field(default_factory=time.monotonic, repr=False)
    _used: int = field(default=0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> WindowState:
        """Count one request (if the budget allows it) and say where the window stands."""
        return self._state(count=True)

    def peek(self) -> WindowState:
        """Where the window stands, without counting a request."""
        return self._state(count=False)

    def _state(self, *, count: bool) -> WindowState:
        with self._lock:
            now = time.monotonic()
            if now - self._started >= self.seconds:
                self._started, self._used = now, 0
            reset_in = max(0.0, self._started + self.seconds - now)
            if self._used >= self.limit:
                return WindowState(False, self.limit, 0, reset_in, self.seconds)
            if count:
                self._used += 1
            return WindowState(True, self.limit, self.limit - self._used, reset_in, self.seconds)


@dataclass
class LayeredWindows:
    """Several budgets at once (Railway: requests per hour and per second, api/railway.md §11).

    A request counts against every window only when each one allows it. The answer states
    the first window (the one the platform's headers describe) unless another one is used
    up; then that one's state is returned, so the 429's Retry-After says when it lifts.
    """

    windows: tuple[RequestWindow, ...]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def limit(self) -> int:
        return self.windows[0].limit

    def take(self) -> WindowState:
        with self._lock:
            for window in self.windows:
                state = window.peek()
                if not state.allowed:
                    return state
            states = [window.take() for window in self.windows]
        return states[0]
