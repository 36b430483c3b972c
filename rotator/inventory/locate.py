"""`rotator locate`: which leaked secrets are live, and where — matched by SHA-256 only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rotator.inventory.collect import Inventory, LiveVariable
from rotator.output import printable, printable_lines

if TYPE_CHECKING:
    from rotator.scan.result import ScanResult


@dataclass
class LocateResult:
    report: dict[str, Any]  # the JSON report with `live_in` filled
    live: list[tuple[dict[str, Any], list[LiveVariable]]] = field(default_factory=list)
    not_live: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[LiveVariable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the inventory could not read, and why

    @property
    def any_live(self) -> bool:
        return bool(self.live)


def locate_findings(report: dict[str, Any], inventory: Inventory) -> LocateResult:
    """Fill each finding's `live_in` with the platform variables that hold the same value."""
    result = LocateResult(report=report, unreadable=inventory.unreadable,
                          notes=list(inventory.notes))
    for finding in report.get("findings", []):
        holders = inventory.holding(finding["secret_sha256"])
        finding["live_in"] = [h.place() for h in holders]
        if holders:
            result.live.append((finding, holders))
        else:
            result.not_live.append(finding)
    return result


def _leak_phrase(finding: dict[str, Any]) -> str:
    first = finding["locations"][0]
    when = f" on {first['date'][:10]}" if first.get("date") else ""
    # a path may hold a newline (escaped here, as the whole text's lines are escaped later)
    return f"{finding.get('name') or finding['kind']} leaked in {printable(first['path'])}{when}"


def _live_places(finding: dict[str, Any], holders: list[LiveVariable]) -> str:
    return ", ".join(f"{h.platform}:{h.service} ({h.environment})"
                     + (f" as {h.variable}" if h.variable != finding.get("name") else "")
                     for h in holders)


def render_locate_text(result: LocateResult, *, quiet: bool = False, verbose: bool = False) -> str:
    """Live leaks first; then (unless `quiet`) those not live and the variables that could not
    be compared, and a summary. `verbose` adds every place each live secret leaked."""
    lines: list[str] = []
    for finding, holders in result.live:
        lines.append(f"{_leak_phrase(finding)} is LIVE in {_live_places(finding, holders)}  "
                     f"[{finding['redacted']}]")
        if verbose:
            lines.extend(f"    leaked at {printable(loc['path'])}:{loc['line']}"
                         + (f"  {loc['commit'][:7]}" if loc.get("commit") else "")
                         for loc in finding["locations"])
    if quiet:
        return "".join(f"{printable_lines(line)}\n" for line in lines)
    if result.not_live:
        lines.append("")
        lines.append(f"not live on the configured platforms ({len(result.not_live)}):")
        lines.extend(f"  {_leak_phrase(f)}  [{f['redacted']}]" for f in result.not_live)
    if result.unreadable:
        lines.append("")
        lines.append("could not compare (the platform does not show these values):")
        lines.extend(f"  {v.label()}" for v in result.unreadable)
    if result.notes:
        lines.append("")
        lines.extend(f"note: {note}" for note in result.notes)
    lines.append("")
    lines.append(f"{len(result.live)} leaked secret(s) live, {len(result.not_live)} not found live, "
                 f"{len(result.unreadable)} unreadable variable(s)")
    return printable_lines("\n".join(lines).lstrip("\n")) + "\n"


def locate_sarif(scanned: ScanResult, located: LocateResult) -> str:
    """SARIF of the live leaks only (what makes `locate` exit 1): the scan's own SARIF results,
    each with `liveIn` (the platform variables holding the value) and the places in its message."""
    import json
    from dataclasses import replace

    from rotator.scan.report.sarif import report_to_sarif

    holders = {finding["secret_sha256"]: (finding, found) for finding, found in located.live}
    live = [f for f in scanned.findings if f.secret_sha256 in holders]
    sarif = report_to_sarif(replace(scanned, findings=live))
    for result in sarif["runs"][0]["results"]:
        finding, found = holders[result["properties"]["secretSha256"]]
        result["properties"]["liveIn"] = [h.place() for h in found]
        result["message"]["text"] += f" It is LIVE in {_live_places(finding, found)}."
    sarif["runs"][0]["automationDetails"]["id"] = f"rotator/locate-{scanned.mode}/"
    return json.dumps(sarif, indent=2) + "\n"
