"""A progress bar for long audits on a terminal (rich): blobs, bytes, rate, ETA. Silent elsewhere.

rich is imported only when a bar is first drawn, so the pre-commit hook and scans that show no
bar never pay for its import.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

_REDRAW_SECONDS = 0.1  # at most ten redraws a second, however fast chunks come back


class Progress:
    """Totals grow while blobs are still being listed (`total_items`, `total_bytes` are set by
    the caller); `advance` counts what has been scanned."""

    def __init__(self, total_items: int, total_bytes: int, enabled: bool, stream: TextIO | None = None):
        self.total_items = total_items
        self.total_bytes = total_bytes
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.items = 0
        self.bytes = 0
        self._bar: Any = None  # rich.progress.Progress, made on the first draw
        self._task: Any = None
        self._bar_shown = False
        self._last_draw = 0.0
        self._started = time.monotonic()

    def advance(self, items: int, nbytes: int) -> None:
        self.items += items
        self.bytes += nbytes
        now = time.monotonic()
        if self.enabled and now - self._last_draw >= _REDRAW_SECONDS:
            self._last_draw = now
            self._draw()

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, TextColumn
        from rich.progress import Progress as RichProgress

        # enabled only on a terminal (the caller checks), so the console is one
        console = Console(file=self.stream, force_terminal=True, highlight=False)
        # No refresh thread (audit workers are forked, and no thread should run then). Rate and
        # ETA are over the whole run so far, steadier than rich's windowed estimate between
        # chunks that arrive seconds apart.
        self._bar = RichProgress(
            BarColumn(bar_width=24),
            TextColumn("{task.fields[items]}/{task.fields[total_items]} blobs"),
            DownloadColumn(), TextColumn("{task.fields[rate]}  ETA {task.fields[eta]}"),
            console=console, auto_refresh=False, transient=True)
        self._task = self._bar.add_task("audit", total=None, items=0, total_items=0, rate="", eta="")

    def _draw(self) -> None:
        if self._bar is None:
            self._start()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self.bytes / elapsed
        remaining = (self.total_bytes - self.bytes) / rate if rate > 0 else 0.0
        self._bar.update(self._task, completed=self.bytes, total=max(self.total_bytes, 1),
                         items=self.items, total_items=self.total_items,
                         rate=f"{rate / 1e6:,.1f} MB/s", eta=f"{max(remaining, 0):,.0f} s")
        if not self._bar_shown:  # started after the first update: no empty bar flashes
            self._bar.start()
            self._bar_shown = True
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar, self._bar_shown = None, False
