"""Findings: candidates grouped by identity (rule, secret hash, path), with every location.

A finding's identity never includes line numbers or commit SHAs, so baselines and ignores do
not churn when unrelated lines move or history is rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from rotator.redact import redact, secret_sha256
from rotator.scan.confidence import rank
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
    # SHA-1 of the value: only to honour detect-secrets baselines (`hashed_secret`)
    secret_sha1: str = ""
    # Orders findings whose first commits share a timestamp: higher = older in history.
    history_rank: int = 0
    # Why `verified` is what it is (--verify).
    verified_reason: str | None = None
    first_commit: str | None = None
    in_head: bool | None = None
    removed_in: str | None = None
    reachable_from: list[str] = field(default_factory=list)
    verified: str | None = None
    live_in: list[dict] = field(default_factory=list)
    # Why `confidence` is what it is (rotator.scan.confidence): evidence, never the value.
    confidence_reasons: list[str] = field(default_factory=list)
    # the description of the allowlist whose value regex or stopword matched (engine)
    allowlisted_by: str | None = None

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


def summarize_refs(refs: list[str], keep: int = 20) -> list[str]:
    """Ref names for a report: branches and the stash always by name; a namespace with more
    than `keep` refs (pull requests, release tags) as one `refs/pull/* (1,412 refs)` entry."""
    by_namespace: dict[str, list[str]] = {}
    for ref in sorted(refs):
        parts = ref.split("/")
        namespace = "/".join(parts[:2]) if len(parts) > 2 else ref
        by_namespace.setdefault(namespace, []).append(ref)
    summary: list[str] = []
    for namespace, names in by_namespace.items():
        if len(names) > keep and namespace not in ("refs/heads",):
            summary.append(f"{namespace}/* ({len(names):,} refs)")
        else:
            summary.extend(names)
    return summary


def finding_to_state(finding: Finding) -> dict:
    """A plain dict for the audit cache (hashes, previews and positions only)."""
    state = {k: v for k, v in finding.__dict__.items() if k != "locations"}
    state["locations"] = [list(loc.__dict__.values()) for loc in finding.locations]
    return state


def finding_from_state(state: dict) -> Finding:
    data = dict(state)
    data["locations"] = [Location(*values) for values in data.pop("locations")]
    return Finding(**data)


@dataclass(frozen=True)
class SecretHit:
    """One occurrence of a secret, reduced to what may be stored: hash, preview, position.

    Candidates become hits as soon as they leave the engine; history workers send hits (never
    values) between processes and the audit cache stores them.
    """

    rule: str
    kind: str
    family: str
    description: str
    secret_sha256: str
    redacted: str
    name: str | None
    confidence: str
    line: int
    secret_sha1: str = ""
    confidence_reasons: tuple[str, ...] = ()
    allowlisted: str = ""  # the allowlist a value regex or stopword matched (engine)

    @classmethod
    def from_candidate(cls, candidate: Candidate) -> SecretHit:
        rule = candidate.rule
        return cls(
            rule=rule.id,
            kind=rule.kind,
            family=rule.family,
            description=rule.description,
            secret_sha256=secret_sha256(candidate.value_bytes),
            redacted=redact(candidate.value),
            name=candidate.name,
            confidence=candidate.confidence,
            line=candidate.line,
            secret_sha1=hashlib.sha1(candidate.value_bytes).hexdigest(),
            confidence_reasons=candidate.confidence_reasons,
            allowlisted=candidate.allowlisted or "",
        )


def group_into_findings(hits: Iterable[tuple[SecretHit, Location]]) -> list[Finding]:
    """One finding per (rule, secret, path); each occurrence becomes a location."""
    findings: dict[tuple[str, str, str], Finding] = {}
    seen: set[tuple[tuple[str, str, str], Location]] = set()
    for hit, location in hits:
        key = (hit.rule, hit.secret_sha256, location.path)
        finding = findings.get(key)
        if finding is None:
            finding = Finding(
                rule=hit.rule,
                kind=hit.kind,
                family=hit.family,
                description=hit.description,
                name=hit.name,
                secret_sha256=hit.secret_sha256,
                redacted=hit.redacted,
                confidence=hit.confidence,
                path=location.path,
                secret_sha1=hit.secret_sha1,
                confidence_reasons=list(hit.confidence_reasons),
                allowlisted_by=hit.allowlisted or None,
            )
            findings[key] = finding
        else:
            if finding.name is None and hit.name:
                finding.name = hit.name
            if rank(hit.confidence) > rank(finding.confidence):
                # one copy under a telling name or in a telling place is enough
                finding.confidence, finding.confidence_reasons = hit.confidence, list(hit.confidence_reasons)
        if (key, location) not in seen:
            seen.add((key, location))
            finding.locations.append(location)
    for finding in findings.values():
        finding.locations.sort(key=lambda loc: (loc.date or "9999", loc.path, loc.line, loc.commit or ""))
    return sorted(findings.values(), key=lambda f: (f.path, f.locations[0].line, f.rule))
