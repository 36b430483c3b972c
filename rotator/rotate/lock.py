"""One rotation per secret group, and per location, at a time: lock files next to the journal.

The group's file names the run that holds the group; it stays after a crash (the run is
unfinished until resumed or rolled back). An flock on it tells a live holder from a dead one.

Two groups may share a location (a Railway service, a Vercel project, a provider key or a
database role): rotating them at once interleaves redeploys and rollbacks of one service. So
a run also takes one file per location it touches, under ``locations/``, naming the run and
its group. A location file is live while its run's group file still names that run (the run
is running or unfinished); otherwise it is stale and is taken over. Location files are made
after the group file and removed before it, so that rule never misreads a run in progress.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Mapping
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

    def lock_locations(self, locations: Mapping[str, str]) -> None:
        """Take every location (key → name shown) for this run, or none: raise GroupLocked
        naming the run that holds one. Call while holding the group lock."""
        taken: list[Path] = []
        guard_path = self.path.parent / "locations" / ".guard"
        guard_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        guard = os.open(guard_path, os.O_RDWR | os.O_CREAT, 0o600)
        # One process at a time checks and takes location files: a stale file is then
        # replaced by exactly one run, never by two that both read it as stale.
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            for key in sorted(locations):
                path = location_lock_path(self.path.parent, key)
                if not _take_location(path, self.run_id, self.group, locations[key]):
                    taken_by = _read_json(path)
                    owner, group = taken_by.get("run_id"), taken_by.get("group")
                    live = held_by_a_live_process(self.path.parent, str(group))
                    raise GroupLocked(
                        f"{locations[key]} is in use by run {owner} of secret group {group!r} "
                        f"({'running now' if live else 'unfinished'})",
                        "wait for it to finish" if live else
                        f"run `rotator rotate --secret {group} --resume` or "
                        f"`rotator rollback {owner}` first", owner)
                taken.append(path)
        except BaseException:
            for path in taken:
                path.unlink(missing_ok=True)
            raise
        finally:
            os.close(guard)  # drops the flock

    def release(self, *, finished: bool) -> None:
        """Drop the flock; delete the files only when the run is finished (rotated/rolled back)."""
        if self._fd is None:
            return
        if finished:
            release_locations(self.path.parent, self.run_id)
            self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def location_lock_path(state_dir: Path, key: str) -> Path:
    """``locations/<readable part>-<hash>.lock``: the hash keeps distinct keys apart."""
    readable = re.sub(r"[^A-Za-z0-9@._-]+", "_", key)[:60]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return state_dir / "locations" / f"{readable}-{digest}.lock"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _location_is_live(state_dir: Path, holder: Mapping[str, object]) -> bool:
    """The run named in a location file still holds its group (running or unfinished)."""
    group, run_id = holder.get("group"), holder.get("run_id")
    return (isinstance(group, str) and bool(run_id)
            and read_lock_owner(state_dir, group) == run_id)


def _take_location(path: Path, run_id: str, group: str, shown: str) -> bool:
    """Create the location file for ``run_id`` (taking over a stale one); False if a live
    run holds it. A resumed run finds the file already naming it. Called under the guard."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written aside, then linked into place: the file appears whole or not at all, so a
    # racing reader never mistakes a half-written file for a stale one.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(json.dumps({"run_id": run_id, "group": group, "location": shown}),
                     "utf-8")
    try:
        try:
            os.link(draft, path)
            return True
        except FileExistsError:
            pass
        holder = _read_json(path)
        if holder.get("run_id") == run_id:
            return True
        if _location_is_live(path.parent.parent, holder):
            return False
        os.replace(draft, path)  # stale: its run finished or died before it began
        return True
    finally:
        draft.unlink(missing_ok=True)


def release_locations(state_dir: Path, run_id: str) -> None:
    """Remove every location file of ``run_id`` (the run finished)."""
    for path in (state_dir / "locations").glob("*.lock"):
        if _read_json(path).get("run_id") == run_id:
            path.unlink(missing_ok=True)
