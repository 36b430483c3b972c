"""`rotator scan --staged`: the pre-commit hook's job, on the hot path.

Kept lean on purpose: no process pool, no Hyperscan unless configured (on a few hundred added
lines the pure-Python matcher is faster than loading a native library), and the rules come
from the JSON cache, so detect-secrets is never imported.
"""

from __future__ import annotations

import time
from pathlib import Path

from rotator.config import ScanSettings
from rotator.errors import RotatorError
from rotator.scan.engine.detect import find_secrets_in_blob
from rotator.scan.engine.ruleset import load_ruleset
from rotator.scan.engine.text import scannable_text
from rotator.scan.findings import Location, SecretHit, group_into_findings
from rotator.scan.result import ScanResult, ScanStats
from rotator.scan.sources.git import repository_root
from rotator.scan.sources.staged import staged_changes


def scan_staged(named: list[str], settings: ScanSettings, cwd: Path | None = None) -> ScanResult:
    started = time.perf_counter()
    cwd = cwd or Path.cwd()
    root = repository_root(cwd)
    if root is None:
        raise RotatorError("--staged needs a git work tree", "run it inside a repository, or scan paths")
    relative_names = [_relative(root, cwd, name) for name in named]
    changes = staged_changes(root, relative_names)
    engine = "python" if settings.engine == "auto" else settings.engine
    ruleset = load_ruleset(settings.plugins, engine=engine, allowlists=settings.allowlists)
    stats = ScanStats(skipped_binary=changes.binary_files)
    hits = []
    for added in changes.files:
        raw = added.text
        if len(raw) > settings.max_file_size:
            stats.skipped_large += 1
            continue
        text = scannable_text(raw)
        if text is None:
            stats.skipped_binary += 1
            continue
        stats.files += 1
        stats.bytes += len(raw)
        result = find_secrets_in_blob(text, added.path, ruleset)
        stats.note_capped(added.path, result.capped_lines)
        for dropped in result.dropped:
            stats.dropped_by_filter[dropped.filter] += 1
        for candidate in result.candidates:
            line = added.file_line(candidate.line) if candidate.line <= len(added.numbers) else candidate.line
            hits.append((SecretHit.from_candidate(candidate), Location(added.path, line, state="staged")))
    findings = group_into_findings(hits)
    return ScanResult("staged changes", "staged", findings, stats, time.perf_counter() - started,
                      ruleset.matcher.name, stats.incompleteness())


def _relative(root: Path, cwd: Path, name: str) -> str:
    path = (cwd / name).resolve() if not Path(name).is_absolute() else Path(name).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise RotatorError(f"{name} is outside the repository {root}", "pass paths inside it") from None


def staged_scan_for_hook(invocation) -> int:
    """Run the hook's scan from a parsed invocation (see rotator.entry); returns the exit code."""
    from rotator.config import find_config, load_config
    from rotator.output import write_report
    from rotator.scan.tuning import refine, tuned_settings

    config_path = Path(invocation.config) if invocation.config else find_config(Path.cwd())
    settings = tuned_settings(load_config(config_path).scan, invocation.disable_rules, invocation.enable_rules)
    result = scan_staged(invocation.files, settings)
    baseline = Path(invocation.baseline) if invocation.baseline else None
    result = refine(result, settings, baseline, invocation.min_confidence)
    output = Path(invocation.output) if invocation.output else None
    write_report(result, invocation.format, output, invocation.quiet, invocation.verbose,
                 invocation.no_color)
    return 1 if result.leaks else 0
