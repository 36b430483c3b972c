"""SARIF 2.1.0 for GitHub code scanning: one result per finding, rule metadata with help, a
physical location with a region, partial fingerprints, and no secret value anywhere."""

from __future__ import annotations

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


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    first = finding.locations[0]
    label = finding.name or finding.kind
    message = f"{label} ({finding.redacted}) is {STATE_LABELS.get(finding.state, finding.state)} in {finding.path}"
    if first.commit:
        message += f" since commit {first.commit[:12]}"
    message += ": rotate it."
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _SEVERITY[finding.confidence][0],
        "message": {"text": message},
        "locations": [_location(finding.path, first.line)],
        "partialFingerprints": {"rotatorFinding/v1": finding.fingerprint},
        "properties": {
            "secretSha256": finding.secret_sha256,
            "redacted": finding.redacted,
            "confidence": finding.confidence,
            "state": finding.state,
            "commits": sorted({loc.commit for loc in finding.locations if loc.commit}),
        },
    }
    if len(finding.locations) > 1:
        result["relatedLocations"] = [
            {"id": index, **_location(loc.path, loc.line),
             "message": {"text": f"also at line {loc.line}" + (f" in {loc.commit[:12]}" if loc.commit else "")}}
            for index, loc in enumerate(finding.locations[1:], start=1)
        ]
    return result


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
            "results": [_result(f, index_of[f.rule]) for f in result.findings],
            "properties": {
                "files": result.stats.files, "blobs": result.stats.blobs,
                "commits": result.stats.commits, "bytes": result.stats.bytes,
            },
        }],
    }


def render_sarif(result: ScanResult) -> str:
    return json.dumps(report_to_sarif(result), indent=2) + "\n"
