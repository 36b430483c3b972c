"""One rotation per secret group at a time: a lock file next to the journal.

The file names the run that holds the group; it stays after a crash (the run is unfinished
until resumed or rolled back). An flock on it tells a live holder from a dead one.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from rotator.errors import RotatorError


class GroupLocked(RotatorError):
    """Another run holds the group (running now, or unfinished after a crash)."""

    def __init__(self, message: str, hint: str, run_id: str | None) -> None:
        super().__init__(message, hint)
        self.run_id = run_id


def lock_path(state_dir: Path, group: str) -> Path:
    return state_dir / f"{group}.lock"


def read_lock_owner(state_dir: Path, group: str) -> str | None:
    """Run id holding the group's lock, or None."""
    try:
        return json.loads(lock_path(state_dir, group).read_text("utf-8")).get("run_id")
    except (OSError, ValueError):
        return None


def held_by_a_live_process(state_dir: Path, group: str) -> bool:
    """True while a process holds the group's flock (a run is in progress right now)."""
    try:
        fd = os.open(lock_path(state_dir, group), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a flock we may have taken
    return False


class GroupLock:
    """Held for the life of one process working on one run."""

    def __init__(self, state_dir: Path, group: str, run_id: str) -> None:
        self.path = lock_path(state_dir, group)
        self.group = group
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self, *, take_over: bool = False) -> GroupLock:
        """Create the lock for a new run, or (``take_over``) re-take a crashed run's lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_RDWR | (os.O_CREAT if take_over else os.O_CREAT | os.O_EXCL)
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileExistsError:
            owner = read_lock_owner(self.path.parent, self.group)
            raise GroupLocked(
                f"secret group {self.group!r} has an unfinished rotation (run {owner})",
                f"run `rotator rotate --secret {self.group} --resume` or `rotator rollback {owner}`",
                owner) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise GroupLocked(f"a rotation of {self.group!r} is running in another process",
                              "wait for it to finish", read_lock_owner(self.path.parent,
                                                                       self.group)) from None
        if take_over:
            owner = read_lock_owner(self.path.parent, self.group)
            if owner not in (None, self.run_id):
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise GroupLocked(f"secret group {self.group!r} is held by run {owner}",
                                  f"resume or roll back run {owner} first", owner)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"run_id": self.run_id, "pid": os.getpid()}).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self, *, finished: bool) -> None:
        """Drop the flock; delete the file only when the run is finished (rotated/rolled back)."""
        if self._fd is None:
            return
        if finished:
            self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
