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
    # findings left out by rule tuning (rotator.scan.tuning) and, after --verify, for not being live
    allowlisted: int = 0
    in_disabled_rules: int = 0
    not_verified_live: int = 0
    # matches left unexamined on lines holding more than the engine's per-line cap
    capped_matches: int = 0
    # the first few places behind the counts above, named so a reader can look (path[:line])
    capped_at: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    missing_at: list[str] = field(default_factory=list)  # blobs that could not be read, and where
    capped_blobs: list[str] = field(default_factory=list)  # audit: kept out of the blob cache
    dropped_by_filter: Counter = field(default_factory=Counter)

    def add(self, other: ScanStats) -> None:
        for name in ("files", "bytes", "blobs", "commits", "skipped_binary", "skipped_large",
                     "skipped_unreadable", "missing_objects", "cached_blobs",
                     "accepted_by_baseline", "below_min_confidence",
                     "allowlisted", "in_disabled_rules", "not_verified_live",
                     "capped_matches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.capped_at = (self.capped_at + other.capped_at)[:NAMED_PLACES]
        self.unreadable = (self.unreadable + other.unreadable)[:NAMED_PLACES]
        self.missing_at = (self.missing_at + other.missing_at)[:NAMED_PLACES]
        self.capped_blobs = self.capped_blobs + other.capped_blobs
        self.dropped_by_filter.update(other.dropped_by_filter)

    def note_capped(self, path: str, capped_lines: dict[int, int]) -> None:
        """Count the matches a blob's over-full lines left unexamined (see engine.detect)."""
        for line, count in sorted(capped_lines.items()):
            self.capped_matches += count
            if len(self.capped_at) < NAMED_PLACES:
                self.capped_at.append(f"{path}:{line}")

    def note_unreadable(self, name: str) -> None:
        self.skipped_unreadable += 1
        if len(self.unreadable) < NAMED_PLACES:
            self.unreadable.append(name)

    @property
    def complete(self) -> bool:
        """Nothing asked for went unexamined (binaries and files over the size limit are
        skipped by choice, not counted here)."""
        return not (self.capped_matches or self.skipped_unreadable or self.missing_objects)

    def incompleteness(self) -> list[str]:
        """Warnings for what was not examined, naming where (empty when the scan is whole)."""
        warnings = []
        if self.capped_matches:
            from rotator.scan.engine.detect import MAX_MATCHES_PER_LINE

            warnings.append(
                f"{self.capped_matches} match(es) not examined on line(s) holding more than "
                f"{MAX_MATCHES_PER_LINE} (generated data?): {_named(self.capped_at, len(self.capped_at) >= NAMED_PLACES)}")
        if self.skipped_unreadable:
            warnings.append(f"{self.skipped_unreadable} unreadable file(s) or folder(s) not scanned: "
                            f"{_named(self.unreadable, self.skipped_unreadable > len(self.unreadable))}")
        return warnings


NAMED_PLACES = 20


def _named(places: list[str], more: bool) -> str:
    """The places named, and `…` when there are more than were kept."""
    return ", ".join(places) + (", …" if more else "")


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
    # findings rule tuning left out, each with its reason (rotator.scan.tuning.Suppressed)
    suppressed: list = field(default_factory=list)

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
