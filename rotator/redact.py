"""The only two ways a secret value may leave memory: its SHA-256 and a redacted preview."""

from __future__ import annotations

import hashlib


def secret_sha256(value: str | bytes) -> str:
    """SHA-256 hex of the UTF-8 secret value (the JSON report's `secret_sha256`)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def redact(value: str) -> str:
    """A preview that identifies a value to its owner without disclosing it.

    At most a sixth of the value shows at each end (never more than four characters), so a
    short password shows nothing: `re_NNPZmCzV_…` → `re_N…bv5N`, `hunter22` → `h…2`.
    """
    shown = min(4, len(value) // 6)
    if shown == 0:
        return "…" if value else ""
    return f"{value[:shown]}…{value[-shown:]}"
