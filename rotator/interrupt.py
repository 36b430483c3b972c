"""SIGTERM handled like Ctrl-C, for commands that must stop between two steps and clean up."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM (a cancelled CI job, `kill`) raises KeyboardInterrupt, so the
    same handlers that answer Ctrl-C (journal a stop, stop the sandbox) answer it too."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
