"""Append-only audit log of every rotation step: fingerprints (sha256 prefixes), never values."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rotator.redact import secret_sha256
from rotator.rotate.journal import now_iso

FINGERPRINT_CHARS = 12


def fingerprint(value: str | None) -> str | None:
    """sha256 prefix that identifies a value without disclosing it (None: unknown)."""
    return None if value is None else f"sha256:{secret_sha256(value)[:FINGERPRINT_CHARS]}"


class AuditLog:
    """``<state_dir>/audit.jsonl``; one JSON object per step."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "audit.jsonl"

    def write(self, run_id: str, group: str, step: str, outcome: str, **details: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry = {"at": now_iso(), "run_id": run_id, "group": group, "step": step,
                 "outcome": outcome, **details}
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
