"""The JSON report of DESIGN.md: the contract other tools and our tests read."""

from __future__ import annotations

import json
from typing import Any

from rotator import __version__
from rotator.scan.findings import Finding
from rotator.scan.result import ScanResult


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "fingerprint": finding.fingerprint,
        "rule": finding.rule,
        "kind": finding.kind,
        "name": finding.name,
        "secret_sha256": finding.secret_sha256,
        "redacted": finding.redacted,
        "confidence": finding.confidence,
        "confidence_reasons": list(finding.confidence_reasons),
        "state": finding.state,
        "locations": [
            {
                "path": loc.path,
                "line": loc.line,
                "commit": loc.commit,
                "author": loc.author,
                "date": loc.date,
                "state": loc.state,
            }
            for loc in finding.locations
        ],
        "first_commit": finding.first_commit,
        "in_head": finding.in_head,
        "removed_in": finding.removed_in,
        "reachable_from": finding.reachable_from,
        "verified": finding.verified,
        "live_in": finding.live_in,
    }


def report_to_dict(result: ScanResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "version": 1,
        "tool": {"name": "rotator", "version": __version__},
        "scan": {
            "target": result.target,
            "mode": result.mode,
            "commits": stats.commits,
            "blobs": stats.blobs,
            "files": stats.files,
            "bytes": stats.bytes,
            "seconds": round(result.seconds, 3),
            "engine": result.engine,
            "skipped": {
                "binary": stats.skipped_binary,
                "too_large": stats.skipped_large,
                "unreadable": stats.skipped_unreadable,
                "missing_objects": stats.missing_objects,
                "matches_past_line_cap": stats.capped_matches,
            },
            "accepted_by_baseline": stats.accepted_by_baseline,
            "min_confidence": result.min_confidence,
            "below_min_confidence": stats.below_min_confidence,
            "allowlisted": stats.allowlisted,
            "in_disabled_rules": stats.in_disabled_rules,
            "not_verified_live": stats.not_verified_live,
            # a value copied to several places is one secret to rotate
            "distinct_secrets": len({f.secret_sha256 for f in result.leaks}),
            "places": sum(len(f.locations) for f in result.leaks),
            "warnings": result.warnings,
        },
        "findings": [finding_to_dict(f) for f in result.findings],
        # left out by rule tuning, with the reason (no locations: they are not to act on)
        "suppressed": [
            {"fingerprint": s.finding.fingerprint, "rule": s.finding.rule, "path": s.finding.path,
             "secret_sha256": s.finding.secret_sha256, "redacted": s.finding.redacted, "reason": s.reason}
            for s in result.suppressed
        ],
    }


def render_json(result: ScanResult) -> str:
    return json.dumps(report_to_dict(result), indent=2, sort_keys=False) + "\n"
