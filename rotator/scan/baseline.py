"""Baselines teams can live with: accepted findings keyed on (rule, SHA-256 of the value,
path) — no line numbers, no timestamps, sorted — so unrelated edits never change the file.

Also reads a detect-secrets `.secrets.baseline` (SHA-1 `hashed_secret` per file; entries
audited `is_secret: true` stay reported), so a team can migrate in one command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from rotator.errors import RotatorError
from rotator.scan.findings import Finding

FORMAT = "rotator-baseline"


@dataclass(frozen=True)
class BaselineEntry:
    path: str
    rule: str
    secret_sha256: str
    redacted: str = ""
    note: str = ""
    # the triage verdict (`rotator baseline audit`, detect-secrets' `is_secret`): True a real
    # secret (still reported), False a false positive, None not looked at yet
    is_secret: bool | None = None


@dataclass
class Baseline:
    entries: list[BaselineEntry] = field(default_factory=list)
    # detect-secrets entries: (filename, sha1)
    legacy: set[tuple[str, str]] = field(default_factory=set)

    def accepts(self, finding: Finding) -> bool:
        return (finding.path, finding.rule, finding.secret_sha256) in self._keys or (
            (finding.path, finding.secret_sha1) in self.legacy
        )

    @property
    def _keys(self) -> set[tuple[str, str, str]]:
        """What the baseline accepts: every entry but those triaged as real secrets."""
        return {(e.path, e.rule, e.secret_sha256) for e in self.entries if e.is_secret is not True}

    def stale_entries(self, findings: list[Finding]) -> list[BaselineEntry]:
        present = {(f.path, f.rule, f.secret_sha256) for f in findings}
        return [e for e in self.entries if (e.path, e.rule, e.secret_sha256) not in present]


def load_baseline(path: Path) -> Baseline:
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RotatorError(f"baseline {path} not found", "create it with `rotator baseline create`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RotatorError(f"baseline {path} is not valid JSON ({type(error).__name__})",
                           "recreate it with `rotator baseline create`") from None
    if isinstance(document, dict) and document.get("format") == FORMAT:
        try:
            entries = [BaselineEntry(**e) for e in document.get("entries", [])]
        except TypeError:
            raise RotatorError(f"baseline {path}: malformed entry", "recreate it with `rotator baseline create`") from None
        if not all(e.is_secret is None or isinstance(e.is_secret, bool) for e in entries):
            raise RotatorError(f"baseline {path}: is_secret must be true or false",
                               "set verdicts with `rotator baseline audit`")
        return Baseline(entries=entries)
    if isinstance(document, dict) and isinstance(document.get("results"), dict):
        return _from_detect_secrets(document)
    raise RotatorError(f"{path} is neither a rotator nor a detect-secrets baseline",
                       "create one with `rotator baseline create`")


def _from_detect_secrets(document: dict) -> Baseline:
    legacy = set()
    for filename, results in document["results"].items():
        for result in results:
            if result.get("is_secret") is True:
                continue  # audited as a real secret: it must keep failing
            hashed = result.get("hashed_secret")
            if hashed:
                legacy.add((Path(filename).as_posix(), hashed))
    return Baseline(legacy=legacy)


def baseline_from_findings(findings: list[Finding], keep: Baseline | None = None) -> Baseline:
    """Every current finding as an entry, keeping the notes and verdicts of entries already
    accepted."""
    known = {(e.path, e.rule, e.secret_sha256): e for e in (keep.entries if keep else [])}
    entries = {
        (f.path, f.rule, f.secret_sha256): replace(
            known.get((f.path, f.rule, f.secret_sha256)) or BaselineEntry(f.path, f.rule, f.secret_sha256),
            redacted=f.redacted)
        for f in findings
        if keep is None or not keep.legacy or keep.accepts(f)
    }
    if keep is not None:
        for entry in keep.entries:
            entries.setdefault((entry.path, entry.rule, entry.secret_sha256), entry)
    return Baseline(entries=[entries[k] for k in sorted(entries)])


def render_baseline(baseline: Baseline) -> str:
    document = {
        "format": FORMAT,
        "version": 1,
        "entries": [
            {"path": e.path, "rule": e.rule, "secret_sha256": e.secret_sha256,
             "redacted": e.redacted, "note": e.note,
             **({} if e.is_secret is None else {"is_secret": e.is_secret})}
            for e in sorted(baseline.entries, key=lambda e: (e.path, e.rule, e.secret_sha256))
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def apply_baseline(findings: list[Finding], baseline: Baseline) -> tuple[list[Finding], int]:
    kept = [f for f in findings if not baseline.accepts(f)]
    return kept, len(findings) - len(kept)


def filter_result(result, baseline_path: Path | None):
    """Drop the findings a baseline accepts, counting them in the result's stats."""
    if baseline_path is None:
        return result
    result.findings, accepted = apply_baseline(result.findings, load_baseline(baseline_path))
    result.stats.accepted_by_baseline += accepted
    return result
