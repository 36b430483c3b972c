"""`rotator audit`: every blob of every ref once, then the exposure story of each secret.

Flow: list blobs (rev-list) -> skip cached/oversized -> scan in worker processes, each with
its own `git cat-file --batch` -> attribute matched blobs to the commits that introduced them
(`git log --raw`) -> plus the commit and annotated tag messages, located at their commit ->
findings with first commit, HEAD status, removal and reachable refs -> plus the working
tree's uncommitted and untracked files.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_all_start_methods, get_context
from operator import itemgetter
from pathlib import Path

from rotator.config import ScanSettings
from rotator.errors import RotatorError
from rotator.scan.audit_cache import BINARY, CLEAN, MATCHED, AuditCache
from rotator.scan.engine.detect import find_secrets_in_blob
from rotator.scan.engine.ruleset import RuleSet, cache_directory, load_ruleset
from rotator.scan.engine.text import has_binary_suffix, scannable_text
from rotator.scan.findings import (
    Finding,
    Location,
    SecretHit,
    finding_from_state,
    finding_to_state,
    group_into_findings,
    summarize_refs,
)
from rotator.scan.progress import Progress
from rotator.scan.result import ScanResult, ScanStats
from rotator.scan.sources import history as git_history
from rotator.scan.sources.git import GitError, run_git

# Work is handed to the workers in small batches (each worker keeps its blob reader, so
# batches cost nothing to start): the cores stay evenly busy up to the last blob.
CHUNK_BYTES = 8 * 1024 * 1024
CHUNK_BLOBS = 2000
# A small history (below this much blob text to scan) is scanned in this process while
# `git cat-file` inflates its blobs on the other core: workers (a fork each) and libgit2 (40 ms
# to import pygit2, ~0.8 ms a MB saved) cost more than they save there (51 small applications,
# A/B: +30 ms each with libgit2, +10 ms with workers). A bigger one is scanned by workers
# reading through libgit2 (history.LibgitBlobReader): flask's 259 MB take 1.0 s against 1.3 s
# in one process. Counted in text, not packed bytes: that is what the scan costs.
SMALL_HISTORY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class AuditOptions:
    use_cache: bool = True
    jobs: int = 0
    include_worktree: bool = True
    progress: bool = False
    verify: bool = False  # ask providers whether each secret is live (network; opt-in)
    # only commits after a date or ref (`--since`) and/or in a revision range (`--range A..B`)
    since: str | None = None
    revision_range: str | None = None


def resolve_repository(path: Path) -> Path:
    """The directory to run git in: a work tree root or a bare repository."""
    if not path.exists():
        raise RotatorError(f"no such repository: {path}", "pass the path of a git clone or mirror")
    out = run_git(["rev-parse", "--is-bare-repository", "--show-toplevel"], path, check=False)
    lines = out.decode().split()
    if not lines:
        raise RotatorError(f"{path} is not a git repository", "run `git init` or pass a clone")
    if lines[0] == "true":
        return Path(run_git(["rev-parse", "--absolute-git-dir"], path).decode().strip())
    return Path(lines[1]) if len(lines) > 1 else path.resolve()


def audit_repository(path: Path, settings: ScanSettings, options: AuditOptions) -> ScanResult:
    started = time.perf_counter()
    repo = resolve_repository(path)
    # --no-cache is about blob results; the compiled matcher is always worth reusing
    ruleset = load_ruleset(settings.plugins, engine=settings.engine, allowlists=settings.allowlists)
    # cached hits carry the value allowlists' verdicts: other allowlists, other cache
    ruleset_key = (f"{ruleset.version}:{settings.max_file_size}:{'/'.join(settings.exclude)}:"
                   f"{_allowlists_key(settings.allowlists)}")
    cache = (
        AuditCache(cache_directory() / "audit", git_history.git_dir(repo), ruleset_key)
        if options.use_cache else None
    )
    revisions = revisions_for(repo, options.since, options.revision_range)
    try:
        findings, stats, warnings = _history_findings(repo, ruleset, settings, options, cache, revisions)
    finally:
        if cache is not None:
            cache.close()
    if options.include_worktree and not git_history.is_bare(repo):
        findings, worktree_stats = _merge_worktree(repo, findings, settings)
        stats.add(worktree_stats)
        warnings = warnings + worktree_stats.incompleteness()
    if options.verify:
        verify_findings(repo, findings, ruleset)
    target = str(path) + "".join(f" ({label} {value})" for label, value in
                                 (("since", options.since), ("range", options.revision_range)) if value)
    return ScanResult(target, "audit", findings, stats, time.perf_counter() - started,
                      ruleset.matcher.name, warnings)


def revisions_for(repo: Path, since: str | None, revision_range: str | None) -> tuple[str, ...] | None:
    """The `git rev-list` arguments for an audit limited to commits after `since` (a ref: what
    it cannot reach; otherwise a date, as `git log --since` reads it) and/or to a range `A..B`
    (`A..` means up to HEAD); None for the whole history. Every name is checked first, so a
    typo is an error rather than an empty audit."""
    if since is None and revision_range is None:
        return None
    revisions: list[str] = []
    if revision_range is not None:
        start, dots, end = revision_range.partition("..")
        if not dots or end.startswith(".") or not start:
            raise RotatorError(f"--range {revision_range!r} is not a range",
                               "write A..B (commits reachable from B but not from A) or A.. (up to HEAD)")
        revisions += [_commit(repo, end or "HEAD", "--range"), "^" + _commit(repo, start, "--range")]
    if since is not None:
        if _is_commit(repo, since):
            revisions.append("^" + _commit(repo, since, "--since"))
        else:
            revisions.append(f"--since={_date(repo, since)}")
    if revision_range is None:
        revisions[:0] = git_history.walk_arguments(repo)
    return tuple(revisions)


def _is_commit(repo: Path, name: str) -> bool:
    return not name.startswith("-") and bool(
        run_git(["rev-parse", "-q", "--verify", f"{name}^{{commit}}"], repo, check=False).strip())


def _commit(repo: Path, name: str, option: str) -> str:
    if not _is_commit(repo, name):
        raise RotatorError(f"{option}: {name!r} is not a commit, branch or tag in {repo}",
                           "check the name with `git rev-parse --verify NAME`")
    return run_git(["rev-parse", "-q", "--verify", f"{name}^{{commit}}"], repo).decode().strip()


def _date(repo: Path, text: str) -> str:
    """`text` as git reads dates (`2024-05-01`, `2 weeks ago`, `yesterday`); git reads
    anything it cannot parse as "now", which would audit nothing, so that is refused."""
    out = run_git(["rev-parse", f"--since={text}"], repo, check=False).decode().strip()
    seconds = int(out.partition("=")[2]) if out.startswith("--max-age=") else None
    if seconds is None or (text.strip().lower() != "now" and abs(seconds - time.time()) < 2):
        raise RotatorError(f"--since: {text!r} is neither a date nor a commit, branch or tag",
                           "write e.g. 2024-05-01, \"2 weeks ago\" or a ref such as v1.2")
    return str(seconds)


def _allowlists_key(allowlists) -> str:
    import hashlib

    used = [(a.description, a.regexes, a.stopwords, a.rules) for a in allowlists if a.regexes or a.stopwords]
    return hashlib.sha256(repr(used).encode()).hexdigest()[:16] if used else ""


def _history_findings(repo, ruleset, settings, options, cache, revisions=None):
    refs_key = git_history.refs_fingerprint(repo)
    if cache is not None and revisions is None:  # a limited audit reuses blobs, not reports
        cached = cache.report(refs_key)
        if cached is not None:
            stats = ScanStats(**{k: v for k, v in cached["stats"].items() if k != "dropped_by_filter"})
            stats.cached_blobs = stats.blobs
            findings = [finding_from_state(f) for f in cached["findings"]]
            return findings, stats, cached["warnings"]
    import tempfile

    # History is walked as if whole; only when the walk fails is it surveyed for missing
    # commits (a second full walk, which a whole repository need not pay for) and walked again.
    with tempfile.TemporaryDirectory(prefix="rotator-audit-") as scratch:
        walk, surveyed = git_history.whole_walk(revisions), False
        while True:
            pending_history = git_history.PendingHistory(repo, walk)
            try:
                return _scan_and_attribute(repo, ruleset, settings, options, cache, refs_key,
                                           pending_history, walk.notes, revisions)
            except GitError:
                pending_history.cancel()
                if surveyed:
                    raise
                walk, surveyed = git_history.survey_damage(repo, Path(scratch) / "grafts", revisions), True
                if not walk.notes:
                    raise
            except BaseException:
                pending_history.cancel()
                raise


def _scan_and_attribute(repo, ruleset, settings, options, cache, refs_key, pending_history, damage=(),
                        revisions=None):
    stats = ScanStats(missing_objects=len(damage))  # each note is one missing commit
    warnings = list(damage)
    if git_history.is_shallow(repo):
        warnings.append("shallow clone: commits before the shallow boundary were not seen "
                        "(run `git fetch --unshallow` for a full audit)")
    known = cache.known() if cache is not None else {}
    # the log (which lists the blobs it attributes) and the store's order are read side by
    # side; blobs are read once all are known, in store order
    pending_history.start()
    store = git_history.StoreListing(repo, pending_history.env)
    paths_by_blob: dict[str, str] = {}
    matched_oids: list[str] = []

    def blobs_to_scan() -> tuple[Iterator[git_history.BlobRef], int, int]:
        """New blobs under the size limit, in store order, their bytes, and how many listed
        objects are missing from the store. The blobs come from a generator that counts cached
        and skipped ones on the way, so the workers start while it runs (sqlalchemy: 87k
        blobs, 0.15 s)."""
        if store.blob_bytes() >= SMALL_HISTORY_BYTES:
            git_history.load_libgit2()  # while git walks the history; forked workers inherit it
        pending_history.wait_for_listing()
        listed = dict(pending_history.introduced)
        for oid, places in pending_history.object_refs.items():  # reached only through a tag
            listed.setdefault(oid.encode(), places[0][1].encode("utf-8", "surrogateescape"))
        missing = 0
        if pending_history.damaged:
            # commits whose changes could not be read brought blobs the log did not list:
            # walk the trees that are present for them
            stream = git_history.BlobStream(repo, pending_history.walk)
            for blob in stream:
                listed.setdefault(blob.oid.encode(), blob.path.encode("utf-8", "surrogateescape"))
            missing += stream.missing
        present, gone = store.blobs(list(listed))
        missing += len(gone)
        in_order = sorted(present.items(), key=itemgetter(1))  # store order
        limit = settings.max_file_size
        new_bytes = sum(size for oid_bytes, (_, size) in in_order
                        if size <= limit and (not known or oid_bytes.decode() not in known))
        return new_blobs(listed, in_order), new_bytes, missing

    def new_blobs(listed, in_order) -> Iterator[git_history.BlobRef]:
        binary_suffix: dict[bytes, bool] = {}  # paths recur: one per version of a file
        for oid_bytes, (_, size) in in_order:
            oid, path_bytes = oid_bytes.decode(), listed[oid_bytes]
            path = path_bytes.decode("utf-8", "surrogateescape")
            paths_by_blob[oid] = path
            if size > settings.max_file_size:
                stats.skipped_large += 1
                continue
            binary = binary_suffix.get(path_bytes)
            if binary is None:
                binary = binary_suffix[path_bytes] = has_binary_suffix(path)
            if binary:
                stats.skipped_binary += 1
                continue
            status = known.get(oid)
            if status is None:
                yield git_history.BlobRef(oid, size, path)
            elif status == BINARY:
                stats.skipped_binary += 1
                stats.cached_blobs += 1
            else:
                stats.cached_blobs += 1
                stats.blobs += 1
                if status == MATCHED:
                    matched_oids.append(oid)

    blobs, new_bytes, missing = blobs_to_scan()
    small = new_bytes < SMALL_HISTORY_BYTES
    jobs = options.jobs or (1 if small else os.cpu_count() or 1)
    results = _scan_blobs(repo, blobs, ruleset, jobs, options.progress, stats, through_libgit2=not small)
    stats.missing_objects += missing
    if stats.missing_objects or pending_history.damaged:
        # a missing tree shows as commits whose changes could not be read: fsck names it
        named = git_history.name_missing_objects(repo)
        stats.missing_objects = max(stats.missing_objects, len(named))
        warnings.append(f"{stats.missing_objects} object(s) missing or unreadable in the object store "
                        "(partial clone or damaged repository): they were not scanned")
        warnings.extend(named + stats.missing_at)
    hits_by_blob = cache.hits(matched_oids) if cache is not None else {}
    for oid, status, hits in results:
        if status == MATCHED:
            hits_by_blob[oid] = hits
    if cache is not None:
        uncached = set(stats.capped_blobs)
        cache.record([r for r in results if r[0] not in uncached] if uncached else results)
    history = pending_history.collect(set(hits_by_blob))
    warnings.extend(pending_history.damaged)
    if revisions is not None:
        _add_boundary_blobs(repo, history, hits_by_blob, set(paths_by_blob), ruleset)
    stats.commits = len(history.commits)
    in_messages = message_introductions(history.messages, ruleset, stats)
    warnings.extend(stats.incompleteness())
    findings = attribute(hits_by_blob, history, paths_by_blob, pending_history, in_messages,
                         only_introduced=revisions is not None)
    if cache is not None and revisions is None and not stats.missing_objects and not damage and not pending_history.damaged:
        # with objects missing the report is incomplete: objects that arrive later (a partial
        # clone's lazy fetch, a repaired store) must be scanned by the next audit, whose refs
        # may be the same
        cache.store_report(refs_key, {
            "stats": {k: v for k, v in asdict(stats).items() if k not in ("dropped_by_filter", "capped_blobs")},
            "findings": [finding_to_state(f) for f in findings],
            "warnings": warnings,
        })
    return findings, stats, warnings


def _add_boundary_blobs(repo, history, hits_by_blob, scanned: set[str], ruleset) -> None:
    """In a limited audit, the first commits' parents lie outside the walk, so the blobs they
    changed were never listed: scan those few, so a secret that was already there is an edit,
    not an introduction inside the range."""
    before = sorted({b for change in history.changes for b in change.before
                     if b not in scanned and b != git_history._NULL})
    if not before:
        return
    reader = git_history.BlobReader(repo)
    try:
        results, _ = scan_blob_chunk(reader, [git_history.BlobRef(oid, 0, "") for oid in before], ruleset)
    finally:
        reader.close()
    for oid, status, hits in results:
        if status == MATCHED:
            hits_by_blob[oid] = hits


# ---- scanning blobs in worker processes -------------------------------------------------

_worker: tuple[git_history.LibgitBlobReader | git_history.BlobReader, RuleSet] | None = None


def _init_worker(repo: Path, ruleset: RuleSet, delta_cache_mb: int, through_libgit2: bool) -> None:
    from multiprocessing.util import Finalize

    global _worker  # set once per worker process by the pool initializer
    reader = git_history.open_blob_reader(repo, delta_cache_mb, through_libgit2)
    # the worker ends its `cat-file` (if it reads through one) and waits for it: an orphan would outlive the audit,
    # and its CPU would be counted nowhere
    Finalize(reader, reader.close, exitpriority=10)
    _worker = (reader, ruleset)


def _scan_chunk(chunk):
    assert _worker is not None
    reader, ruleset = _worker
    return scan_blob_chunk(reader, chunk, ruleset)


def scan_blob_chunk(reader: git_history.LibgitBlobReader | git_history.BlobReader, chunk, ruleset: RuleSet):
    """Scan one run of blobs; returns per-blob (oid, status, hits) and the chunk's counts."""
    results = []
    stats = ScanStats()
    select = ruleset.matcher.candidate_patterns
    for blob, content in reader.read(chunk):
        if content is None:
            stats.missing_objects += 1
            if len(stats.missing_at) < 20:
                stats.missing_at.append(f"missing or unreadable blob {blob.oid[:12]} (at {blob.path})")
            continue
        text = scannable_text(content)
        if text is None:
            stats.skipped_binary += 1
            results.append((blob.oid, BINARY, []))
            continue
        stats.blobs += 1
        stats.bytes += len(content)
        patterns = select(text)
        if not patterns:  # most blobs of a history (sqlalchemy: 3 in 4): nothing to extract
            results.append((blob.oid, CLEAN, []))
            continue
        found = find_secrets_in_blob(text, blob.path, ruleset, patterns)
        stats.note_capped(blob.path, found.capped_lines)
        if found.capped_lines:
            stats.capped_blobs.append(blob.oid)  # rescanned next time, so the warning stays
        for dropped in found.dropped:
            stats.dropped_by_filter[dropped.filter] += 1
        hits = [SecretHit.from_candidate(c) for c in found.candidates]
        results.append((blob.oid, MATCHED if hits else CLEAN, hits))
    return results, stats


def _chunks(blobs, progress: Progress):
    chunk, size = [], 0
    for blob in blobs:
        chunk.append(blob)
        size += blob.size
        progress.total_items += 1
        progress.total_bytes += blob.size
        if size >= CHUNK_BYTES or len(chunk) >= CHUNK_BLOBS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _scan_blobs(repo, blobs, ruleset, jobs: int, show_progress: bool, stats: ScanStats,
                through_libgit2: bool = False):
    """Scan a stream of blobs in chunks, in `jobs` worker processes (in this one for 1);
    returns every blob's (oid, status, hits)."""
    progress = Progress(0, 0, show_progress)
    results = []

    def absorb(outcome) -> None:
        chunk_results, chunk_stats = outcome
        results.extend(chunk_results)
        stats.add(chunk_stats)
        progress.advance(len(chunk_results), chunk_stats.bytes)

    try:
        if jobs <= 1 or "fork" not in get_all_start_methods():
            reader = git_history.open_blob_reader(repo, git_history.delta_cache_share(1), through_libgit2)
            try:
                for chunk in _chunks(blobs, progress):
                    absorb(scan_blob_chunk(reader, chunk, ruleset))
            finally:
                reader.close()
            return results
        _ = ruleset.matcher  # compiled once here; forked workers inherit it
        with ProcessPoolExecutor(jobs, mp_context=get_context("fork"), initializer=_init_worker,
                                 initargs=(repo, ruleset, git_history.delta_cache_share(jobs),
                                           through_libgit2)) as pool:
            futures = [pool.submit(_scan_chunk, chunk) for chunk in _chunks(blobs, progress)]
            for future in futures:
                absorb(future.result())
        return results
    finally:
        progress.close()


# ---- messages: commit and annotated tag messages ------------------------------------------


def message_introductions(messages: git_history.Messages, ruleset: RuleSet,
                          stats: ScanStats) -> list[tuple[SecretHit, Location]]:
    """Secrets in commit and tag messages, each located at its message's marker path
    (`<commit message>`, `<tag message: v1.0>`) and commit. All messages are one buffer, so
    the engine runs once however long the history."""
    if not messages.refs:
        return []
    found = find_secrets_in_blob(bytes(messages.text), git_history.COMMIT_MESSAGE_PATH, ruleset)
    stats.note_capped(git_history.COMMIT_MESSAGE_PATH, found.capped_lines)
    for dropped in found.dropped:
        stats.dropped_by_filter[dropped.filter] += 1
    located = []
    for candidate in found.candidates:
        message = messages.at(candidate.start)
        located.append((SecretHit.from_candidate(candidate), Location(
            path=message.path, line=candidate.line - message.first_line + 1, commit=message.commit,
            author=message.author, date=message.date, state="committed",
        )))
    return located


# ---- attribution: where each secret entered, and what still reaches it -------------------


def attribute(hits_by_blob: dict[str, list[SecretHit]], history, paths_by_blob, refs,
              in_messages: list[tuple[SecretHit, Location]] = (), only_introduced: bool = False) -> list[Finding]:
    """Turn matched blobs into findings with the commits that introduced each secret per path;
    secrets in messages (`in_messages`) join them, already located. With `only_introduced` (a
    limited audit) blobs no walked commit introduced are left out: they predate the range."""
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)  # (rule, sha) -> blobs
    for oid, hits in hits_by_blob.items():
        for hit in hits:
            holders[(hit.rule, hit.secret_sha256)].add(oid)
    introductions: list[tuple[SecretHit, Location]] = []
    committed_blobs: set[str] = set()  # blobs some commit brought (as an introduction or an edit)
    removals: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (rule, sha, path)
    for change in history.changes:
        info = history.commits.get(change.commit)
        if change.after in hits_by_blob:
            committed_blobs.add(change.after)
        for hit in hits_by_blob.get(change.after, ()):
            key = (hit.rule, hit.secret_sha256)
            if any(b in holders[key] for b in change.before):
                continue  # the secret was already there: an edit, not an introduction
            introductions.append((hit, Location(
                path=change.path, line=hit.line, commit=change.commit,
                author=info.author if info else None, date=info.date if info else None,
                state="committed",
            )))
        for before in change.before:
            for hit in hits_by_blob.get(before, ()):
                key = (hit.rule, hit.secret_sha256)
                if change.after not in holders[key]:
                    removals[(*key, change.path)].append(change.commit)
    tagged: dict[str, list[str]] = defaultdict(list)  # path of a tagged blob -> its refs
    for oid, hits in hits_by_blob.items():
        if oid in committed_blobs or only_introduced:
            continue
        # reachable, yet no commit brought it: a tag (or any ref) to a blob or to a tree
        places = getattr(refs, "object_refs", {}).get(oid) or [("", paths_by_blob.get(oid) or oid)]
        for ref, path in places:
            shown = f"{path} (in {ref})" if ref and path else path or f"<{ref}>"
            if ref:
                tagged[shown].append(ref)
            for hit in hits:
                introductions.append((hit, Location(path=shown, line=hit.line, state="committed")))
    introductions.extend(in_messages)
    findings = group_into_findings(introductions)
    _describe_exposure(findings, holders, removals, history, refs)
    for finding in findings:
        if finding.path in tagged:
            finding.reachable_from = summarize_refs(sorted(set(finding.reachable_from) | set(tagged[finding.path])))
    return findings


def _describe_exposure(findings: list[Finding], holders, removals, history, refs) -> None:
    """`refs` gives the default branch's tree (`head`), its commit and the ref tips."""
    head = refs.head
    on_default_branch = _ancestors(refs.head_commit, history) if refs.head_commit else set()
    position = {oid: i for i, oid in enumerate(history.order)}  # smaller = more recent
    targets = sorted({loc.commit for f in findings for loc in f.locations if loc.commit})
    reach = _reachability_bits(targets, history)
    tip_bits = {name: reach.get(oid, 0) for name, oid in refs.tips.items()}
    bit_of = {oid: 1 << i for i, oid in enumerate(targets)}
    summaries: dict[int, list[str]] = {}
    for finding in findings:
        key = (finding.rule, finding.secret_sha256)
        finding.locations.sort(key=lambda loc: (loc.date or "9999", -position.get(loc.commit, 0)))
        dated = [loc for loc in finding.locations if loc.commit]
        if dated:
            finding.history_rank = position.get(dated[0].commit, 0)
        finding.first_commit = dated[0].commit if dated else None
        finding.in_head = head.get(finding.path) in holders[key]
        if not finding.in_head:
            candidates = [c for c in removals.get((*key, finding.path), []) if c in on_default_branch]
            finding.removed_in = min(candidates, key=lambda c: position.get(c, 0)) if candidates else None
        mask = 0
        for loc in dated:
            mask |= bit_of.get(loc.commit, 0)
        if mask not in summaries:  # findings of one commit share their refs (1,600 refs: ~5 ms each)
            summaries[mask] = summarize_refs([name for name, bits in tip_bits.items() if bits & mask])
        finding.reachable_from = list(summaries[mask])


def _ancestors(start: str, history) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        info = history.commits.get(oid)
        if info:
            stack.extend(info.parents)
    return seen


def _reachability_bits(targets: list[str], history) -> dict[str, int]:
    """For every commit, a bitset of the target commits it can reach (one pass, parents first)."""
    bit_of = {oid: 1 << i for i, oid in enumerate(targets)}
    bits: dict[str, int] = {}
    for oid in reversed(history.order):
        value = bit_of.get(oid, 0)
        info = history.commits[oid]
        for parent in info.parents:
            value |= bits.get(parent, 0)
        if value:
            bits[oid] = value
    return bits


# ---- liveness (--verify) -------------------------------------------------------------------


def verify_findings(repo: Path, findings: list[Finding], ruleset: RuleSet) -> None:
    """Check each distinct verifiable secret once. Values are not kept anywhere, so each is
    re-read from the blob of its first location (`commit:path`, or the file for work-tree
    copies) and re-extracted in memory just for the check."""
    import os

    from rotator.verify.liveness import verify_secret

    verdicts: dict[tuple[str, str], object] = {}
    for finding in findings:
        key = (finding.rule, finding.secret_sha256)
        if key not in verdicts:
            verdicts[key] = _verify_one(repo, finding, ruleset, verify_secret, os.environ)
        verdict = verdicts[key]
        if verdict is not None:
            finding.verified, finding.verified_reason = verdict.status, verdict.reason


def _verify_one(repo, finding, ruleset, verify_secret, environ):
    from rotator.redact import secret_sha256
    from rotator.verify.liveness import UNKNOWN, Verdict, can_verify

    if not can_verify(finding.family, finding.name):
        return None
    location = finding.locations[0]
    if git_history.is_message_path(location.path):
        content = git_history.read_message(repo, location.path, location.commit)
    elif location.commit:
        content = run_git(["cat-file", "blob", f"{location.commit}:{location.path}"], repo, check=False)
    else:
        try:
            content = (repo / location.path).read_bytes()
        except OSError:
            content = b""
    text = scannable_text(content) if content else None
    if text is None:
        return Verdict(UNKNOWN, "the copy to check could not be read")
    for candidate in find_secrets_in_blob(text, location.path, ruleset).candidates:
        if candidate.rule.id == finding.rule and secret_sha256(candidate.value_bytes) == finding.secret_sha256:
            return verify_secret(finding.family, candidate.value, candidate.line_text, candidate.name, environ,
                                 candidate.rule.kind)
    return Verdict(UNKNOWN, "the secret could not be re-read from its first location")


# ---- the working tree ----------------------------------------------------------------------


def _merge_worktree(repo: Path, findings: list[Finding], settings: ScanSettings):
    """Add the work tree's uncommitted and untracked copies (committed ones are history)."""
    from rotator.scan.scan_files import ScanOptions, scan_paths

    result = scan_paths(
        [repo], settings, ScanOptions(jobs=1, states=frozenset({"uncommitted", "untracked"}))
    )
    _merge_local(findings, result.findings, ("uncommitted", "untracked"))
    _merge_local(findings, _index_findings(repo, settings), ("staged",))
    stats = ScanStats(files=result.stats.files, bytes=result.stats.bytes,
                      skipped_binary=result.stats.skipped_binary,
                      skipped_large=result.stats.skipped_large,
                      skipped_unreadable=result.stats.skipped_unreadable,
                      unreadable=result.stats.unreadable,
                      capped_matches=result.stats.capped_matches,
                      capped_at=result.stats.capped_at)
    return findings, stats


def _merge_local(findings: list[Finding], local_findings: list[Finding], states: tuple[str, ...]) -> None:
    """Add the locations of `local_findings` in `states` to `findings` (same secret and path:
    one finding); a copy already seen uncommitted in the work tree is not repeated as staged."""
    by_key = {(f.rule, f.secret_sha256, f.path): f for f in findings}
    for local in local_findings:
        fresh = [loc for loc in local.locations if loc.state in states]
        existing = by_key.get((local.rule, local.secret_sha256, local.path))
        if existing is not None and "staged" in states and any(
                loc.state == "uncommitted" for loc in existing.locations):
            continue
        if not fresh:
            continue
        if existing is not None:
            existing.locations.extend(loc for loc in fresh if loc not in existing.locations)
            continue
        local.locations = fresh
        local.in_head = False
        findings.append(local)
        by_key[(local.rule, local.secret_sha256, local.path)] = local


def _index_findings(repo: Path, settings: ScanSettings) -> list[Finding]:
    """Secrets in what is staged (the index) and differs from HEAD: a file staged and then
    removed from the work tree is in no commit and no file, yet the next commit holds it."""
    has_head = bool(run_git(["rev-parse", "-q", "--verify", "HEAD^{commit}"], repo, check=False).strip())
    if has_head:
        out = run_git(["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev",
                       "--diff-filter=ACMT", "HEAD"], repo)
        fields = out.split(b"\0")
        staged = [(fields[i].split(b" ")[3].decode(), fields[i + 1])
                  for i in range(0, len(fields) - 1, 2) if fields[i].startswith(b":")]
    else:
        staged = []
        for entry in run_git(["ls-files", "-s", "-z"], repo).split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            if meta:
                staged.append((meta.split(b" ")[1].decode(), path))
    if not staged:
        return []
    ruleset = load_ruleset(settings.plugins, engine=settings.engine, allowlists=settings.allowlists)
    blobs = [git_history.BlobRef(oid, 0, path.decode("utf-8", "surrogateescape")) for oid, path in staged]
    reader = git_history.BlobReader(repo)
    hits = []
    try:
        for blob, content in reader.read(blobs):
            if content is None or len(content) > settings.max_file_size or has_binary_suffix(blob.path):
                continue
            text = scannable_text(content)
            if text is None:
                continue
            for candidate in find_secrets_in_blob(text, blob.path, ruleset).candidates:
                hits.append((SecretHit.from_candidate(candidate),
                             Location(path=blob.path, line=candidate.line, state="staged")))
    finally:
        reader.close()
    return group_into_findings(hits)
