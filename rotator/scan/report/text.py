"""The report for people: grouped by secret, redacted, coloured on a terminal, one summary line."""

from __future__ import annotations

from rotator.scan.findings import STATE_LABELS, Finding
from rotator.scan.result import ScanResult

_COLOURS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1", "cyan": "36"}


class _Style:
    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, *names: str) -> str:
        if not self.colour or not names:
            return text
        codes = ";".join(_COLOURS[n] for n in names)
        return f"\x1b[{codes}m{text}\x1b[0m"


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def _finding_block(finding: Finding, style: _Style) -> list[str]:
    label = finding.name or finding.kind
    level = {"high": "red", "medium": "yellow", "low": "dim"}[finding.confidence]
    local = "" if finding.is_leak else style("  (local only, not committed)", "green")
    head = (
        f"{style(label, 'bold')}  {finding.redacted}  "
        f"{style(finding.rule, 'cyan')} · {style(finding.confidence, level)}{local}"
    )
    lines = [head]
    if finding.verified:
        lines.append(f"    verified: {finding.verified}")
    for place in finding.live_in:
        lines.append(f"    LIVE in {place.get('platform')}:{place.get('service')} ({place.get('environment')}) as {place.get('variable')}")
    for loc in finding.locations:
        where = f"{loc.path}:{loc.line}"
        extra = f"  {loc.commit[:7]}" if loc.commit else ""
        if loc.author:
            extra += f" by {loc.author}"
        if loc.date:
            extra += f" on {loc.date[:10]}"
        lines.append(f"    {where}{style(extra, 'dim')}  [{STATE_LABELS.get(loc.state, loc.state)}]")
    return lines


def summary_line(result: ScanResult) -> str:
    stats = result.stats
    parts = [f"{len(result.leaks)} leaked secret(s)"]
    local = len(result.findings) - len(result.leaks)
    if local:
        parts.append(f"{local} local only")
    scanned = f"scanned {stats.files} file(s)" if result.mode != "audit" else (
        f"scanned {stats.blobs} blob(s) from {stats.commits} commit(s)"
    )
    parts.append(f"{scanned}, {_human_bytes(stats.bytes)} in {result.seconds:.2f} s")
    skipped = []
    if stats.skipped_binary:
        skipped.append(f"{stats.skipped_binary} binary")
    if stats.skipped_large:
        skipped.append(f"{stats.skipped_large} over the size limit")
    if stats.skipped_unreadable:
        skipped.append(f"{stats.skipped_unreadable} unreadable")
    if stats.missing_objects:
        skipped.append(f"{stats.missing_objects} missing object(s)")
    if skipped:
        parts.append("skipped " + ", ".join(skipped))
    return "; ".join(parts)


def render_text(result: ScanResult, colour: bool = False, verbose: bool = False) -> str:
    style = _Style(colour)
    lines: list[str] = []
    for finding in result.findings:
        lines.extend(_finding_block(finding, style))
        lines.append("")
    for warning in result.warnings:
        lines.append(style(f"warning: {warning}", "yellow"))
    if verbose and result.stats.dropped_by_filter:
        dropped = ", ".join(f"{name} {count}" for name, count in result.stats.dropped_by_filter.most_common())
        lines.append(style(f"candidates dropped by filters: {dropped}", "dim"))
    colour_name = "red" if result.leaks else "green"
    lines.append(style(summary_line(result), colour_name, "bold"))
    return "\n".join(lines) + "\n"
