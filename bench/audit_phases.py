"""Where a cold `rotator audit`'s wall time goes: when each phase starts and ends, measured
from the interpreter's start (imports included), with no profiler slowing Python down.

    python bench/audit_phases.py /tmp/rotator-bench-inputs/sqlalchemy.git [--runs 3]

Each run is a fresh process (`--child`) that wraps the audit's phase functions with clocks and
runs `rotator audit REPO --no-worktree --no-cache`. Phases overlap: the log is read and parsed in
a background thread while the store is listed in another and, for a big history, pygit2 is
imported; the scan starts while the blob list is still being made. The table gives each phase's
median start and end over the runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()

# (label, module, owner class or None, function): the phases, in the order they begin
PHASES = [
    ("`git log --raw` read and parsed (background thread)", "history", "PendingHistory", "_parse"),
    ("the store listed in pack order (background thread)", "history", "StoreListing", "_list"),
    ("tag messages, HEAD's tree, ref tips (background thread)", "history", "PendingHistory", "_after_log"),
    ("waiting for the log's list of blobs", "history", "PendingHistory", "wait_for_listing"),
    ("scanning every new blob (workers, or this process)", "audit", None, "_scan_blobs"),
    ("attribution: the changes of matched blobs", "history", "PendingHistory", "collect"),
    ("attribution: findings, exposure", "audit", None, "attribute"),
]


def child(repo: Path, output: Path) -> None:
    from rotator.scan import audit
    from rotator.scan.sources import history

    modules = {"audit": audit, "history": history}
    marks: dict[str, list[float]] = {}

    def clocked(label, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            begun = time.perf_counter() - STARTED
            try:
                return function(*args, **kwargs)
            finally:
                if label not in marks:  # the first call (collect waits for the listing again)
                    marks[label] = [begun, time.perf_counter() - STARTED]
        return wrapper

    for label, module, owner, name in PHASES:
        target = getattr(modules[module], owner) if owner else modules[module]
        if name == "_after_log":  # what the log thread does after parsing: the rest of _read
            continue
        setattr(target, name, clocked(label, getattr(target, name)))
    from rotator.cli import main as rotator_main

    report = Path(tempfile.mkdtemp(prefix="rotator-phases-")) / "report.json"
    try:
        rotator_main(args=["audit", str(repo), "--no-worktree", "--no-cache", "-q", "-f", "json", "-o", str(report)],
                     prog_name="rotator", standalone_mode=False)
    except SystemExit:
        pass  # the audit's exit code says whether it found secrets
    finally:
        marks["end"] = [0.0, time.perf_counter() - STARTED]
        if "`git log --raw` read and parsed (background thread)" in marks:
            log_end = marks["`git log --raw` read and parsed (background thread)"][1]
            waited = marks.get("waiting for the log's list of blobs")
            if waited:
                marks["tag messages, HEAD's tree, ref tips (background thread)"] = [log_end, waited[1]]
        output.write_text(json.dumps(marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    repo = args.repo.resolve()
    if args.child:
        child(repo, args.child)
        return
    from measure import rotator_as_installed  # here: the child's clock starts before its imports

    rotator_as_installed()
    runs = []
    for run in range(args.runs):
        output = Path(tempfile.mkdtemp(prefix="rotator-phases-")) / f"marks-{run}.json"
        subprocess.run([sys.executable, __file__, str(repo), "--child", str(output)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
        runs.append(json.loads(output.read_text()))
    print(f"repository: {repo}, {args.runs} runs, seconds from the interpreter's start (median)\n")
    print("| phase | starts | ends | takes |\n|---|---:|---:|---:|")
    for label, *_ in PHASES:
        spans = [marks[label] for marks in runs if label in marks]
        if spans:
            start, end = statistics.median(s for s, _ in spans), statistics.median(e for _, e in spans)
            print(f"| {label} | {start:.2f} | {end:.2f} | {end - start:.2f} |")
    print(f"| whole audit, imports included | 0.00 | {statistics.median(m['end'][1] for m in runs):.2f} | |")


if __name__ == "__main__":
    main()
