"""What a scan produced: findings plus the counts a reader needs to trust an empty result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rotator.scan.findings import Finding


@dataclass
class ScanStats:
    files: int = 0
    bytes: int = 0
    blobs: int = 0
    commits: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_unreadable: int = 0
    missing_objects: int = 0
    cached_blobs: int = 0
    accepted_by_baseline: int = 0
    dropped_by_filter: Counter = field(default_factory=Counter)

    def add(self, other: ScanStats) -> None:
        for name in ("files", "bytes", "blobs", "commits", "skipped_binary", "skipped_large",
                     "skipped_unreadable", "missing_objects", "cached_blobs",
                     "accepted_by_baseline"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped_by_filter.update(other.dropped_by_filter)


@dataclass
class ScanResult:
    target: str
    mode: str  # files | staged | audit
    findings: list[Finding]
    stats: ScanStats
    seconds: float
    engine: str
    warnings: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> list[Finding]:
        return [f for f in self.findings if f.is_leak]
