"""`rotator scan PATH...`: files and directories through the engine into findings."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rotator.config import ScanSettings
from rotator.errors import RotatorError
from rotator.scan.engine.detect import Candidate, find_secrets_in_blob
from rotator.scan.engine.ruleset import RuleSet, load_ruleset
from rotator.scan.engine.text import scannable_text
from rotator.scan.findings import Location, SecretHit, group_into_findings
from rotator.scan.result import ScanResult, ScanStats
from rotator.scan.sources.files import FileToScan, select_files
from rotator.scan.sources.git import run_git

# Below this many bytes a process pool costs more than it saves.
PARALLEL_THRESHOLD = 8 * 1024 * 1024


@dataclass(frozen=True)
class ScanOptions:
    all_files: bool = False
    jobs: int = 0  # 0: one per core
    use_cache: bool = True
    # Only files in these states (None: all); the audit asks for uncommitted and untracked.
    states: frozenset[str] | None = None
    # Ask providers whether each secret is live (network calls; opt-in).
    verify: bool = False


def scan_paths(paths: list[Path], settings: ScanSettings, options: ScanOptions) -> ScanResult:
    started = time.perf_counter()
    selection = select_files(paths, all_files=options.all_files, exclude=settings.exclude)
    if options.states is not None:
        selection.files = [f for f in selection.files if f.state in options.states]
    if selection.missing and not selection.files:
        raise RotatorError(
            f"no such file or directory: {', '.join(selection.missing)}", "check the path"
        )
    ruleset = load_ruleset(settings.plugins, engine=settings.engine, use_cache=options.use_cache,
                           allowlists=settings.allowlists)
    stats = ScanStats()
    for folder in selection.unreadable:
        stats.note_unreadable(_shown(folder) + "/")
    hits: list[tuple[Candidate, Location]] = []
    for file_hits, file_stats in _scan_all(selection.files, ruleset, settings, options):
        hits.extend(file_hits)
        stats.add(file_stats)
    hits = _promote_committed_copies(hits, selection.files)
    findings = group_into_findings((SecretHit.from_candidate(c), loc) for c, loc in hits)
    if options.verify:
        _verify(hits, findings)
    warnings = [f"not found: {m}" for m in selection.missing] + stats.incompleteness()
    target = " ".join(str(p) for p in paths)
    return ScanResult(target, "files", findings, stats, time.perf_counter() - started,
                      ruleset.matcher.name, warnings)


def _shown(path: str) -> str:
    """`path` relative to the working directory when under it, as reports show paths."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


def _verify(hits, findings) -> None:
    """Check each distinct secret once, while its value is still in memory."""
    import os

    from rotator.redact import secret_sha256
    from rotator.verify.liveness import verify_secret

    verdicts = {}
    for candidate, _ in hits:
        key = (candidate.rule.id, secret_sha256(candidate.value_bytes))
        if key not in verdicts:
            verdicts[key] = verify_secret(candidate.rule.family, candidate.value,
                                          candidate.line_text, candidate.name, os.environ,
                                          candidate.rule.kind)
    for finding in findings:
        verdict = verdicts.get((finding.rule, finding.secret_sha256))
        if verdict is not None:
            finding.verified, finding.verified_reason = verdict.status, verdict.reason


def scan_one_file(item: FileToScan, ruleset: RuleSet, max_size: int):
    """Read and scan one file; returns its hits and the counts it contributes."""
    stats = ScanStats()
    try:
        size = item.absolute.stat().st_size
        if size > max_size:
            stats.skipped_large += 1
            return [], stats
        raw = item.absolute.read_bytes()
    except OSError:
        stats.note_unreadable(item.display)
        return [], stats
    text = scannable_text(raw)
    if text is None:
        stats.skipped_binary += 1
        return [], stats
    stats.files += 1
    stats.bytes += len(raw)
    result = find_secrets_in_blob(text, item.display, ruleset)
    stats.note_capped(item.display, result.capped_lines)
    for dropped in result.dropped:
        stats.dropped_by_filter[dropped.filter] += 1
    hits = [
        (c, Location(path=item.display, line=c.line, state=item.state)) for c in result.candidates
    ]
    return hits, stats


_worker_ruleset: RuleSet | None = None


def _init_worker(ruleset: RuleSet) -> None:
    global _worker_ruleset  # one per worker process, set once by the pool initializer
    _worker_ruleset = ruleset


def _scan_chunk(items: list[FileToScan], max_size: int):
    assert _worker_ruleset is not None
    return [scan_one_file(item, _worker_ruleset, max_size) for item in items]


def _scan_all(files: list[FileToScan], ruleset: RuleSet, settings: ScanSettings, options: ScanOptions):
    jobs = options.jobs or os.cpu_count() or 1
    total = 0
    for item in files:
        with contextlib.suppress(OSError):
            total += min(item.absolute.stat().st_size, settings.max_file_size)
    if jobs <= 1 or total < PARALLEL_THRESHOLD or "fork" not in _start_methods():
        for item in files:
            yield scan_one_file(item, ruleset, settings.max_file_size)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    _ = ruleset.matcher  # compile (or load) once here; forked workers inherit it
    chunks = _chunks_by_size(files, jobs * 8)
    with ProcessPoolExecutor(jobs, mp_context=get_context("fork"), initializer=_init_worker,
                             initargs=(ruleset,)) as pool:
        for results in pool.map(_scan_chunk, chunks, [settings.max_file_size] * len(chunks)):
            yield from results


def _start_methods() -> list[str]:
    from multiprocessing import get_all_start_methods

    return get_all_start_methods()


def _chunks_by_size(files: list[FileToScan], count: int) -> list[list[FileToScan]]:
    chunks: list[list[FileToScan]] = [[] for _ in range(max(1, count))]
    for index, item in enumerate(files):
        chunks[index % len(chunks)].append(item)
    return [c for c in chunks if c]


def _promote_committed_copies(hits, files: list[FileToScan]):
    """A secret in a locally modified file may already be in HEAD: then it is committed."""
    by_path = {f.display: f for f in files}
    head_cache: dict[str, bytes | None] = {}
    promoted = []
    for candidate, location in hits:
        item = by_path.get(location.path)
        if location.state == "uncommitted" and item is not None and item.repo is not None:
            if location.path not in head_cache:
                head_cache[location.path] = run_git(
                    ["cat-file", "blob", f"HEAD:{location.path}"], item.repo, check=False
                ) or None
            head = head_cache[location.path]
            if head is not None and candidate.value_bytes in head:
                location = Location(location.path, location.line, state="committed")
        promoted.append((candidate, location))
    return promoted
