"""Findings: candidates grouped by identity (rule, secret hash, path), with every location.

A finding's identity never includes line numbers or commit SHAs, so baselines and ignores do
not churn when unrelated lines move or history is rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from rotator.redact import redact, secret_sha256
from rotator.scan.engine.detect import Candidate

# Where a location's copy of the secret lives, from most to least exposed.
STATES = ("committed", "staged", "uncommitted", "untracked", "file", "local")
LEAKED_STATES = frozenset({"committed", "staged", "uncommitted", "untracked", "file"})
STATE_LABELS = {
    "committed": "committed",
    "staged": "staged for commit",
    "uncommitted": "uncommitted change",
    "untracked": "untracked, not ignored",
    "file": "file",
    "local": "local only, not committed",
}


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    commit: str | None = None
    author: str | None = None
    date: str | None = None
    state: str = "file"


def fingerprint(rule_id: str, value_sha256: str, path: str) -> str:
    return hashlib.sha256(f"{rule_id}:{value_sha256}:{path}".encode()).hexdigest()


@dataclass
class Finding:
    rule: str
    kind: str
    family: str
    description: str
    name: str | None
    secret_sha256: str
    redacted: str
    confidence: str
    path: str
    locations: list[Location] = field(default_factory=list)
    first_commit: str | None = None
    in_head: bool | None = None
    removed_in: str | None = None
    reachable_from: list[str] = field(default_factory=list)
    verified: str | None = None
    live_in: list[dict] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.secret_sha256, self.path)

    @property
    def state(self) -> str:
        """The most exposed state among the locations."""
        states = {loc.state for loc in self.locations}
        return next((s for s in STATES if s in states), "file")

    @property
    def is_leak(self) -> bool:
        """False only when every copy is local (an ignored file never committed)."""
        return self.state in LEAKED_STATES


def group_into_findings(hits: Iterable[tuple[Candidate, Location]]) -> list[Finding]:
    """One finding per (rule, secret, path); each occurrence becomes a location."""
    findings: dict[tuple[str, str, str], Finding] = {}
    for candidate, location in hits:
        digest = secret_sha256(candidate.value_bytes)
        key = (candidate.rule.id, digest, location.path)
        finding = findings.get(key)
        if finding is None:
            rule = candidate.rule
            finding = Finding(
                rule=rule.id,
                kind=rule.kind,
                family=rule.family,
                description=rule.description,
                name=candidate.name,
                secret_sha256=digest,
                redacted=redact(candidate.value),
                confidence=candidate.confidence,
                path=location.path,
            )
            findings[key] = finding
        elif finding.name is None and candidate.name:
            finding.name = candidate.name
        if location not in finding.locations:
            finding.locations.append(location)
    for finding in findings.values():
        finding.locations.sort(key=lambda loc: (loc.date or "", loc.path, loc.line, loc.commit or ""))
    return sorted(findings.values(), key=lambda f: (f.path, f.locations[0].line, f.rule))
