"""SARIF 2.1.0 for GitHub code scanning: one result per place a secret is found, rule metadata
with help, a physical location with a region, partial fingerprints, and no secret value anywhere."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from rotator import __version__
from rotator.scan.findings import STATE_LABELS, Finding
from rotator.scan.result import ScanResult

_SEVERITY = {"high": ("error", "9.0"), "medium": ("warning", "7.0"), "low": ("note", "4.0")}


def _rule_entry(finding: Finding) -> dict[str, Any]:
    help_text = (
        f"{finding.description} Rotate the credential (issue a new one, deploy it, revoke the "
        "old one); removing it from the file or rewriting history does not make it secret "
        "again. If this is a test value, add `# pragma: allowlist secret` to the line or record it with "
        "`rotator baseline update`."
    )
    return {
        "id": finding.rule,
        "name": "".join(part.capitalize() for part in finding.rule.split("-")),
        "shortDescription": {"text": f"{finding.kind.replace('_', ' ')} committed to the repository"},
        "fullDescription": {"text": finding.description},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": _SEVERITY[finding.confidence][0]},
        "properties": {
            "tags": ["security", "secret", finding.kind],
            "security-severity": _SEVERITY["high"][1],
            "precision": {"high": "high", "medium": "medium", "low": "low"}[finding.confidence],
        },
    }


def _location(path: str, line: int) -> dict[str, Any]:
    # A URI reference: spaces and the brackets of `<commit message>` are percent-encoded.
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(line, 1)},
        }
    }


def _results(finding: Finding, rule_index: int) -> list[dict[str, Any]]:
    """One result per place (as gitleaks writes them), so code scanning annotates every line
    and every commit that holds the secret, not only the first."""
    label = finding.name or finding.kind
    commits = sorted({loc.commit for loc in finding.locations if loc.commit})
    results = []
    for loc in finding.locations:
        state = "" if loc.state == "file" else f" ({STATE_LABELS.get(loc.state, loc.state)})"
        message = f"{label} {finding.redacted} in {loc.path}{state}"
        if loc.commit:
            message += f" in commit {loc.commit[:12]}"
        others = len(finding.locations) - 1
        if others:
            message += f" (and {others} more place{'s' if others > 1 else ''})"
        message += ": rotate it."
        place = hashlib.sha256(f"{finding.fingerprint}:{loc.commit or ''}:{loc.line}".encode()).hexdigest()
        results.append({
            "ruleId": finding.rule,
            "ruleIndex": rule_index,
            "level": _SEVERITY[finding.confidence][0],
            "message": {"text": message},
            "locations": [_location(loc.path, loc.line)],
            # the finding's identity (stable when lines move) and this place's
            "partialFingerprints": {"rotatorFinding/v1": finding.fingerprint, "rotatorPlace/v1": place},
            "properties": {
                "secretSha256": finding.secret_sha256,
                "redacted": finding.redacted,
                "confidence": finding.confidence,
                "confidenceReasons": list(finding.confidence_reasons),
                "state": loc.state,
                "commit": loc.commit,
                "commits": commits,
            },
        })
    return results


def report_to_sarif(result: ScanResult) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    for finding in result.findings:
        if finding.rule not in index_of:
            index_of[finding.rule] = len(rules)
            rules.append(_rule_entry(finding))
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rotator",
                "version": __version__,
                "rules": rules,
            }},
            "automationDetails": {"id": f"rotator/{result.mode}/"},
            "results": [r for f in result.findings for r in _results(f, index_of[f.rule])],
            "properties": {
                "files": result.stats.files, "blobs": result.stats.blobs,
                "commits": result.stats.commits, "bytes": result.stats.bytes,
            },
        }],
    }


def render_sarif(result: ScanResult) -> str:
    return json.dumps(report_to_sarif(result), indent=2) + "\n"
