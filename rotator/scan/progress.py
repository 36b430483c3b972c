"""A progress line for long scans on a terminal: blobs, bytes, rate, ETA. Silent elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_items: int, total_bytes: int, enabled: bool, stream: TextIO | None = None):
        self.total_items = total_items
        self.total_bytes = total_bytes
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.items = 0
        self.bytes = 0
        self._started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, items: int, nbytes: int) -> None:
        self.items += items
        self.bytes += nbytes
        now = time.monotonic()
        if self.enabled and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-6)
        rate = self.bytes / elapsed
        fraction = min(self.bytes / max(self.total_bytes, 1), 1.0)
        remaining = (self.total_bytes - self.bytes) / rate if rate > 0 else 0.0
        width = 24
        bar = "█" * int(fraction * width) + "░" * (width - int(fraction * width))
        self.stream.write(
            f"\r{bar} {self.items}/{self.total_items} blobs  {self.bytes / 1e6:,.0f}/"
            f"{self.total_bytes / 1e6:,.0f} MB  {rate / 1e6:,.1f} MB/s  ETA {remaining:,.0f} s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
