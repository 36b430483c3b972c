"""What a scan produced: findings plus the counts a reader needs to trust an empty result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from rotator.scan.confidence import DEFAULT_MIN_CONFIDENCE, rank
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
    # findings left out of the report for their confidence (--min-confidence)
    below_min_confidence: int = 0
    dropped_by_filter: Counter = field(default_factory=Counter)

    def add(self, other: ScanStats) -> None:
        for name in ("files", "bytes", "blobs", "commits", "skipped_binary", "skipped_large",
                     "skipped_unreadable", "missing_objects", "cached_blobs",
                     "accepted_by_baseline", "below_min_confidence"):
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
    # the lowest confidence reported (findings below it are counted in stats, not listed)
    min_confidence: str = "low"

    @property
    def leaks(self) -> list[Finding]:
        return [f for f in self.findings if f.is_leak]


def at_least(result: ScanResult, min_confidence: str = DEFAULT_MIN_CONFIDENCE) -> ScanResult:
    """The result with only the findings at `min_confidence` or above; the others are
    counted, so the summary can say how many were left out and how to see them."""
    kept = [f for f in result.findings if rank(f.confidence) >= rank(min_confidence)]
    stats = replace(result.stats, dropped_by_filter=Counter(result.stats.dropped_by_filter))
    stats.below_min_confidence += len(result.findings) - len(kept)
    return replace(result, findings=kept, stats=stats, min_confidence=min_confidence)
