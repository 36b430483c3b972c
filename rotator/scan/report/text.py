"""The report for people: grouped by secret, redacted, coloured on a terminal, one summary line."""

from __future__ import annotations

from rotator.output import printable
from rotator.scan.findings import STATE_LABELS, Finding, Location
from rotator.scan.result import ScanResult

_COLOURS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1", "cyan": "36"}
# Styles are marked with lone high surrogates (which no decoded path, name or message holds:
# undecodable bytes become low surrogates) while a report is built, and become escape
# sequences only after every user-controlled character has been escaped (see `_finish`).
_STYLE_START, _STYLE_END, _STYLE_RESET = "\ud800", "\ud801", "\ud802"


class _Style:
    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, *names: str) -> str:
        if not self.colour or not names:
            return text
        codes = ";".join(_COLOURS[n] for n in names)
        return f"{_STYLE_START}{codes}{_STYLE_END}{text}{_STYLE_RESET}"


def _finish(line: str) -> str:
    """One report line for a terminal: paths, names and messages in it have their control
    characters escaped (newlines too: one line stays one line), then styles become ANSI codes."""
    return (printable(line).replace(_STYLE_START, "\x1b[").replace(_STYLE_END, "m")
            .replace(_STYLE_RESET, "\x1b[0m"))


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def _finding_block(finding: Finding, style: _Style, verbose: bool = False) -> list[str]:
    label = finding.name or finding.kind
    level = {"high": "red", "medium": "yellow", "low": "dim"}[finding.confidence]
    local = "" if finding.is_leak else style("  (local only, not committed)", "green")
    head = (
        f"{style(label, 'bold')}  {finding.redacted}  "
        f"{style(finding.rule, 'cyan')} · {style(finding.confidence, level)}{local}"
    )
    lines = [head]
    if verbose and finding.confidence_reasons:
        lines.append(style(f"    {finding.confidence}: {'; '.join(finding.confidence_reasons)}", "dim"))
    if finding.verified:
        reason = f" ({finding.verified_reason})" if finding.verified_reason else ""
        colour = {"live": "red", "dead": "green"}.get(finding.verified, "yellow")
        lines.append(f"    verified: {style(finding.verified.upper(), colour, 'bold')}{reason}")
    for place in finding.live_in:
        lines.append(f"    LIVE in {place.get('platform')}:{place.get('service')} ({place.get('environment')}) as {place.get('variable')}")
    groups = group_locations(finding.locations)
    shown = groups if verbose else groups[:GROUPS_SHOWN]
    for group in shown:
        first = group[0]
        numbers = [str(loc.line) for loc in group]
        if not verbose and len(numbers) > LINES_SHOWN:
            numbers = [*numbers[:LINES_SHOWN], f"+{len(group) - LINES_SHOWN} more"]
        where = f"{first.path}:{', '.join(numbers)}"
        extra = f"  {first.commit[:7]}" if first.commit else ""
        if first.author:
            extra += f" by {first.author}"
        if first.date:
            extra += f" on {first.date[:10]}"
        lines.append(f"    {where}{style(extra, 'dim')}  [{STATE_LABELS.get(first.state, first.state)}]")
    if len(shown) < len(groups):
        hidden = groups[len(shown):]
        lines.append(style(f"    +{len(hidden)} more commit(s) with {sum(map(len, hidden))} line(s) "
                           "(-v lists them)", "dim"))
    return lines


# Per finding, at most this many (path, commit) groups and line numbers per group; -v shows all
GROUPS_SHOWN = 5
LINES_SHOWN = 5


def group_locations(locations: list[Location]) -> list[list[Location]]:
    """Occurrences grouped per file and commit (and state), in the order they were found."""
    groups: dict[tuple, list[Location]] = {}
    for loc in locations:
        groups.setdefault((loc.path, loc.commit, loc.state), []).append(loc)
    for group in groups.values():
        group.sort(key=lambda loc: loc.line)
    return list(groups.values())


def _short_date(value: str | None) -> str:
    return value[:10] if value else "an unknown date"


def exposure_story(findings: list[Finding]) -> str:
    """One sentence per secret across all the paths it was found at (the audit's headline)."""
    first = min(findings, key=lambda f: (f.locations[0].date or "9999", -f.history_rank))
    entry = first.locations[0]
    label = first.name or first.kind
    if entry.commit:
        who = f", by {entry.author}" if entry.author else ""
        story = f"{label} leaked {_short_date(entry.date)} in {first.path} ({entry.commit[:7]}{who})"
    else:
        story = f"{label} is in {first.path} ({STATE_LABELS.get(entry.state, entry.state)})"
    others = sorted({f.path for f in findings} - {first.path})
    if others:
        story += f", copied to {len(others)} more file{'s' if len(others) > 1 else ''}"
    in_head = [f.path for f in findings if f.in_head]
    refs = sorted({r for f in findings for r in f.reachable_from})
    committed = any(loc.commit for f in findings for loc in f.locations)
    if in_head:
        story += f"; still in HEAD ({', '.join(in_head)}): rotate it, then remove it"
    elif committed:
        removal = next((f.removed_in for f in findings if f.removed_in), None)
        if removal:
            story += f", removed in {removal[:7]}"
        if refs:
            story += (f" — still reachable from {len(refs)} ref{'s' if len(refs) > 1 else ''}: "
                      "rotate it; rewriting history is not enough")
    else:
        story += ": never committed; keep it out of git"
    return story + "."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def count_line(leaks: list[Finding]) -> str:
    """"5 distinct secrets leaked in 10 places": a value copied to several files (or lines,
    or commits) is one secret to rotate, found in several places."""
    if not leaks:
        return "0 leaked secrets"
    distinct = len({f.secret_sha256 for f in leaks})
    places = sum(len(f.locations) for f in leaks)
    return f"{_plural(distinct, 'distinct secret')} leaked in {_plural(places, 'place')}"


def summary_line(result: ScanResult) -> str:
    stats = result.stats
    parts = [count_line(result.leaks)]
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
    if stats.capped_matches:
        skipped.append(f"{stats.capped_matches} match(es) past the per-line cap")
    if skipped:
        parts.append("skipped " + ", ".join(skipped))
    if stats.accepted_by_baseline:
        parts.append(f"{stats.accepted_by_baseline} accepted by the baseline")
    tuned = []
    if stats.allowlisted:
        tuned.append(f"{stats.allowlisted} allowlisted")
    if stats.in_disabled_rules:
        tuned.append(f"{stats.in_disabled_rules} in disabled rules")
    if tuned:
        parts.append(", ".join(tuned) + " not shown (-v says why)")
    if stats.not_verified_live:
        parts.append(f"{stats.not_verified_live} not confirmed live not shown (--only-verified)")
    if stats.below_min_confidence:
        parts.append(f"{stats.below_min_confidence} below {result.min_confidence} confidence not shown "
                     "(--min-confidence low shows them)")
    return "; ".join(parts)


def render_text(result: ScanResult, colour: bool = False, verbose: bool = False) -> str:
    style = _Style(colour)
    lines: list[str] = []
    if result.mode == "audit":
        by_secret: dict[tuple[str, str], list[Finding]] = {}
        for finding in result.findings:
            by_secret.setdefault((finding.secret_sha256, finding.rule), []).append(finding)
        for group in by_secret.values():
            lines.append(style(exposure_story(group), "bold"))
            for finding in group:
                lines.extend("  " + line for line in _finding_block(finding, style, verbose))
                if finding.reachable_from and verbose:
                    lines.append(style(f"      reachable from: {', '.join(finding.reachable_from)}", "dim"))
            lines.append("")
    else:
        for finding in result.findings:
            lines.extend(_finding_block(finding, style, verbose))
            lines.append("")
    for warning in result.warnings:
        lines.append(style(f"warning: {warning}", "yellow"))
    if verbose:
        for left_out in result.suppressed:
            finding = left_out.finding
            lines.append(style(f"not shown: {finding.name or finding.kind}  {finding.redacted}  {finding.rule}  "
                               f"{finding.path}: {left_out.reason}", "dim"))
    if verbose and result.stats.dropped_by_filter:
        dropped = ", ".join(f"{name} {count}" for name, count in result.stats.dropped_by_filter.most_common())
        lines.append(style(f"candidates dropped by filters: {dropped}", "dim"))
    colour_name = "red" if result.leaks else "green"
    lines.append(style(summary_line(result), colour_name, "bold"))
    return "\n".join(_finish(line) for line in lines) + "\n"
