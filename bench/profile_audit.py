"""Where a cold `rotator audit` spends its CPU: interpreter and imports, rules, the blob
listing, reading blobs, matching, confidence, attribution, and the git processes.

    python bench/profile_audit.py REPO [--jobs 1]

The imports are timed in a fresh interpreter (CPU of `python -c 'import …'`, whole process).
The audit then runs in this process under cProfile with a CPU clock (so waiting on a pipe
counts nothing); the git processes it starts are counted from the kernel's accounting of
reaped children. Profiling slows Python down, so the Python rows are given as shares of the
profiled Python CPU, beside the unprofiled total. The `git log` output is parsed in a
background thread, which cProfile does not see: it is in the Python total, not in a row.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import rotator_as_installed

IMPORTS = "import rotator.cli, rotator.scan.audit, hyperscan"
# label -> functions whose cumulative CPU it is (summed: none of them calls another; of
# several functions of one name in one file, the outermost: the libgit2 reader's `read` hands
# what is not in a pack to the cat-file reader's)
PARTS = {
    "rules and matcher (from the cache)": [("ruleset.py", "load_ruleset"), ("ruleset.py", "matcher")],
    "reading blobs (libgit2 in-process, or the cat-file pipe)": [("history.py", "read")],
    "matching (Hyperscan over every blob)": [("matcher.py", "candidate_patterns")],
    "extraction (re on the lines around Hyperscan's hits, filters)": [("detect.py", "find_secrets_in_blob")],
    "  of which confidence": [("confidence.py", "assess")],
    "blob listing (waiting for the log's list, store order)": [("audit.py", "blobs_to_scan")],
    "commit log and attribution": [("history.py", "collect"), ("audit.py", "attribute"),
                                   ("audit.py", "message_introductions")],
    "repository checks (rev-parse, refs fingerprint)": [("audit.py", "resolve_repository"),
                                                        ("history.py", "refs_fingerprint")],
}


def import_cpu() -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def cumulative(stats: pstats.Stats, file_suffix: str, name: str) -> float:
    return max((ct for (path, _, fn), (_, _, _, ct, _) in stats.stats.items()
                if fn == name and path.endswith(file_suffix)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--jobs", type=int, default=0, help="0: as rotator decides")
    args = parser.parse_args()
    rotator_as_installed()
    os.environ.setdefault("ROTATOR_CACHE_DIR", tempfile.mkdtemp(prefix="rotator-profile-"))
    imports = min(import_cpu() for _ in range(3))

    from rotator.config import ScanSettings
    from rotator.scan.audit import AuditOptions, audit_repository

    options = AuditOptions(use_cache=False, jobs=args.jobs, include_worktree=False)
    audit_repository(args.repo, ScanSettings(), options)  # rules and word-list caches warm, as on a second run
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    audit_repository(args.repo, ScanSettings(), options)
    wall = time.perf_counter() - started
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    python_cpu = (own_after.ru_utime + own_after.ru_stime) - (own.ru_utime + own.ru_stime)
    git_cpu = (children_after.ru_utime + children_after.ru_stime) - (children.ru_utime + children.ru_stime)

    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(audit_repository, args.repo, ScanSettings(), options)
    stats = pstats.Stats(profiler)
    total = cumulative(stats, "audit.py", "audit_repository") or 1.0
    print(f"repository: {args.repo}\n")
    print("| part | CPU s | share |\n|---|---:|---:|")
    print(f"| interpreter start and imports (fresh process) | {imports:.2f} | |")
    print(f"| audit, Python (this process{', workers apart' if args.jobs != 1 else ''}) | {python_cpu:.2f} | |")
    print(f"| audit, git and worker processes (reaped children) | {git_cpu:.2f} | |")
    for label, functions in PARTS.items():
        share = sum(cumulative(stats, suffix, name) for suffix, name in functions) / total
        print(f"| {label} | | {share:.0%} of the audit's Python CPU |")
    print(f"\nunprofiled audit wall time: {wall:.2f} s")


if __name__ == "__main__":
    main()
