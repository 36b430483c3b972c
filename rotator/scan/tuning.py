"""Rule tuning and what is left out of a report: rules switched off (or only some kept),
allowlists by path, value regex and stopword (gitleaks' `[[allowlists]]`), the baseline, the
minimum confidence and `--only-verified`. Each finding tuning leaves out keeps its reason, so
`--verbose` can say why and the summary can count it.

Value regexes and stopwords need the value, so the engine applies them (see engine.detect) and
marks the candidate; paths and rules are applied here, on the findings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from rotator.config import Allowlist, ScanSettings
from rotator.errors import RotatorError
from rotator.scan.findings import Finding
from rotator.scan.result import ScanResult, at_least


@dataclass(frozen=True)
class Suppressed:
    """A finding tuning left out, and why (no value: the finding holds a hash and a preview)."""

    finding: Finding
    reason: str


def tuned_settings(settings: ScanSettings, disable: Iterable[str] = (), enable: Iterable[str] = ()) -> ScanSettings:
    """`settings` with the command line's `--disable-rule`/`--enable-rule` added to the
    config's, every rule id (allowlists' `rules` too) checked against the rules loaded."""
    settings = replace(
        settings,
        disable_rules=tuple(dict.fromkeys((*settings.disable_rules, *disable))),
        enable_rules=tuple(dict.fromkeys((*settings.enable_rules, *enable))),
    )
    named = [*settings.disable_rules, *settings.enable_rules, *(r for a in settings.allowlists for r in a.rules)]
    if named:
        from rotator.scan.engine.ruleset import load_ruleset

        check_rule_ids(named, {rule.id for rule in load_ruleset(settings.plugins, engine="python").rules})
    return settings


def check_rule_ids(ids: Iterable[str], known: set[str]) -> None:
    """One-line error for the first unknown rule id, naming the closest known ones."""
    for rule_id in ids:
        if rule_id not in known:
            import difflib  # only for the error: the hook's start-up is a hot path

            close = difflib.get_close_matches(rule_id, sorted(known), n=3, cutoff=0.6)
            hint = (f"did you mean {' or '.join(close)}?" if close
                    else "use a rule id as reports show it, e.g. resend-api-key")
            raise RotatorError(f"unknown rule {rule_id!r}", hint)


def allowlist_reason(allowlists: Iterable[Allowlist], rule_id: str, *, path: str | None = None,
                     value: str | None = None) -> str | None:
    """The description of the first allowlist that lets this rule's finding at `path` (or with
    `value`) through; None when none does."""
    for allowlist in allowlists:
        if allowlist.rules and rule_id not in allowlist.rules:
            continue
        if path is not None and any(re.search(pattern, path) for pattern in allowlist.paths):
            return allowlist.description
        if value is not None:
            if any(re.search(pattern, value) for pattern in allowlist.regexes):
                return allowlist.description
            lowered = value.lower()
            if any(word.lower() in lowered for word in allowlist.stopwords):
                return allowlist.description
    return None


def _suppression(finding: Finding, settings: ScanSettings) -> str | None:
    if finding.rule in settings.disable_rules:
        return f"rule {finding.rule} disabled"
    if settings.enable_rules and finding.rule not in settings.enable_rules:
        return f"rule {finding.rule} not enabled"
    reason = finding.allowlisted_by or allowlist_reason(settings.allowlists, finding.rule, path=finding.path)
    return f"allowlisted by {reason}" if reason else None


def apply_tuning(result: ScanResult, settings: ScanSettings) -> ScanResult:
    """The result without the findings of disabled rules and allowlisted ones (kept aside in
    `suppressed`, counted in the stats)."""
    kept: list[Finding] = []
    suppressed = list(result.suppressed)
    for finding in result.findings:
        reason = _suppression(finding, settings)
        if reason is None:
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding, reason))
    counts = Counter("allowlisted" if s.reason.startswith("allowlisted") else "rules" for s in suppressed)
    stats = replace(result.stats, dropped_by_filter=Counter(result.stats.dropped_by_filter),
                    allowlisted=counts["allowlisted"], in_disabled_rules=counts["rules"])
    return replace(result, findings=kept, suppressed=suppressed, stats=stats)


def only_verified(result: ScanResult) -> ScanResult:
    """trufflehog's `--results=verified`: only the findings a provider confirmed live."""
    kept = [f for f in result.findings if f.verified == "live"]
    stats = replace(result.stats, dropped_by_filter=Counter(result.stats.dropped_by_filter))
    stats.not_verified_live += len(result.findings) - len(kept)
    return replace(result, findings=kept, stats=stats)


def refine(result: ScanResult, settings: ScanSettings, baseline: Path | None, min_confidence: str | None,
           verified_only: bool = False) -> ScanResult:
    """Everything a report leaves out, in order: tuning, the baseline, the minimum confidence,
    and (after --verify) what is not confirmed live. Shared by the CLI and the hook."""
    result = apply_tuning(result, settings)
    if baseline or settings.baseline:
        from rotator.scan.baseline import filter_result  # not imported by a hook without one

        result = filter_result(result, baseline or settings.baseline)
    result = at_least(result, min_confidence or settings.min_confidence)
    return only_verified(result) if verified_only else result
