"""The rotation record: when each secret group was last rotated, and what is left to revoke.

It holds dates, run ids, fingerprints (sha256 prefixes) and provider ids (a Resend key id),
never a value, so it can live in the repository: the quarterly job runs on an ephemeral CI
runner, reads the record to decide what is due (`rotate --due`) and commits it back. Without
`[rotation] record_file` it lives in the state directory.

    {"version": 1, "groups": {"nextauth": {"rotated_at": "…", "run_id": "…", "mode": "…",
      "fingerprint": "sha256:…", "provider": {"key_id": "…"},
      "pending_revocations": [{"not_before": "…", "run_id": "…", "provider": {…}}]}}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rotator.errors import RotatorError

RECORD_VERSION = 1


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RotationRecord:
    path: Path
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> RotationRecord:
        try:
            document = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as error:
            raise RotatorError(f"rotation record {path} is unreadable ({type(error).__name__})",
                               "restore it from version control, or delete it to start over "
                               "(every group with a max_age is then due)") from None
        if not isinstance(document, dict) or document.get("version") != RECORD_VERSION \
                or not isinstance(document.get("groups"), dict):
            raise RotatorError(f"rotation record {path} has an unknown format",
                               "restore it from version control")
        for name, entry in document["groups"].items():
            problem = _entry_problem(entry)
            if problem:
                raise RotatorError(f"rotation record {path}: group {name!r}: {problem}",
                                   "restore it from version control")
        return cls(path, document["groups"])

    def save(self) -> None:
        """Atomic rewrite, sorted keys: a stable diff for the commit the CI job makes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"version": RECORD_VERSION, "groups": self.groups},
                                        indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def last(self, group: str) -> dict[str, Any] | None:
        return self.groups.get(group)

    def age_days(self, group: str, now: datetime) -> float | None:
        entry = self.groups.get(group)
        if not entry or "rotated_at" not in entry:
            return None
        return (now - parse_time(entry["rotated_at"])).total_seconds() / 86400

    def rotated(self, group: str, *, run_id: str, mode: str, at: datetime,
                fingerprint: str | None, provider: dict[str, Any]) -> None:
        entry = self.groups.setdefault(group, {})
        entry.update({"rotated_at": format_time(at), "run_id": run_id, "mode": mode,
                      "fingerprint": fingerprint, "provider": provider})

    def add_pending(self, group: str, *, run_id: str, not_before: datetime,
                    provider: dict[str, Any], what: str) -> None:
        entry = self.groups.setdefault(group, {})
        pending = [p for p in entry.get("pending_revocations", []) if p.get("run_id") != run_id]
        pending.append({"run_id": run_id, "not_before": format_time(not_before),
                        "provider": provider, "what": what})
        entry["pending_revocations"] = pending  # one entry per run, however often retried

    def pending(self, group: str) -> list[dict[str, Any]]:
        return list(self.groups.get(group, {}).get("pending_revocations", []))

    def drop_pending(self, group: str, item: dict[str, Any]) -> None:
        entry = self.groups.get(group, {})
        entry["pending_revocations"] = [p for p in entry.get("pending_revocations", [])
                                        if p != item]
        if not entry["pending_revocations"]:
            del entry["pending_revocations"]


def _valid_time(value: Any) -> bool:
    try:
        parse_time(value)
    except (TypeError, ValueError):
        return False
    return True


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    if "rotated_at" in entry and not _valid_time(entry["rotated_at"]):
        return "rotated_at is not a time like 2026-01-31T12:00:00Z"
    pending = entry.get("pending_revocations", [])
    if not isinstance(pending, list):
        return "pending_revocations is not a list"
    for item in pending:
        if not (isinstance(item, dict) and isinstance(item.get("run_id"), str)
                and _valid_time(item.get("not_before"))
                and isinstance(item.get("provider"), dict)):
            return "a pending revocation lacks run_id, not_before or provider"
    return None


def grace_end(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
