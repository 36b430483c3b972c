"""Minified bundles of growing size: time and peak RSS of the whole process tree, rotator vs gitleaks.

    python bench/bench_bundles.py [--sizes 0.2,0.7,1.4,4,8] [--gitleaks PATH]

Each bundle is one line of JavaScript with a `password:"…"` field every 70 bytes (a 1.4 MB
bundle holds 20,000 of them), as committed `dist/` and `.next/` folders hold. Both tools scan
the same folder once per size. Peak RSS is the largest sum of resident memory over the
process and all its descendants, sampled every 10 ms from /proc (what the machine has to
hold), not the largest single process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import tempfile
import time
from pathlib import Path

from measure import machine_description

FIELD_BYTES = 70  # the length of one `var aN={user:"u…",password:"…",x:0};`, padded
PAGE = os.sysconf("SC_PAGE_SIZE")


def write_bundle(path: Path, megabytes: float, seed: int = 12) -> int:
    """A one-line bundle of about `megabytes` MB; returns its number of password fields."""
    generator = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    fields = int(megabytes * 1e6 / FIELD_BYTES)
    with path.open("w") as out:
        for i in range(fields):
            value = "".join(generator.choice(alphabet) for _ in range(20))
            field = f'var a{i}={{user:"",password:"{value}",x:0}};'
            out.write(field.replace('user:"', 'user:"' + "u" * (FIELD_BYTES - len(field)), 1))
    return fields


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and every descendant, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            pid = int(entry.name)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * PAGE
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def run_tree_measured(command: list[str], env: dict) -> tuple[float, float, int]:
    """(seconds, peak whole-tree RSS in MB, exit code) of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.01)
    return time.perf_counter() - started, peak / 1e6, process.returncode


def count_findings(tool: str, report: Path) -> int:
    try:
        document = json.loads(report.read_text())
    except (OSError, ValueError):
        return -1
    return len(document["findings"]) if tool == "rotator" else len(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0.2,0.7,1.4,4,8", help="bundle sizes in MB")
    parser.add_argument("--gitleaks", default=shutil.which("gitleaks") or "gitleaks",
                        help="the gitleaks binary (the real one, not a look-alike)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rotator-bench-bundles-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    print(f"machine: {machine_description()}\ngitleaks: {args.gitleaks}\n")
    print("| bundle MB | password fields | tool | seconds | peak tree RSS MB | findings |")
    print("|---:|---:|---|---:|---:|---:|")
    warmed = False
    measured: dict[str, list[tuple[float, float, float]]] = {}
    for size in (float(s) for s in args.sizes.split(",")):
        tree = work / f"bundle-{size}"
        tree.mkdir()
        fields = write_bundle(tree / "app.min.js", size)
        commands = {
            "rotator scan": ["rotator", "scan", str(tree), "--all-files", "--quiet", "-f", "json",
                             "-o", str(work / "rotator.json")],
            "gitleaks dir": [args.gitleaks, "dir", str(tree), "--no-banner", "--exit-code", "0",
                             "--log-level", "error", "--report-format", "json",
                             "--report-path", str(work / "gitleaks.json")],
        }
        if not warmed:  # the rule cache is built once, as any second run has it
            subprocess.run(commands["rotator scan"], env=env, capture_output=True, check=False)
            warmed = True
        for name, command in commands.items():
            seconds, peak, _ = run_tree_measured(command, env)
            found = count_findings(name.split()[0], work / f"{name.split()[0]}.json")
            print(f"| {size:g} | {fields} | {name} | {seconds:.2f} | {peak:.0f} | {found} |", flush=True)
            measured.setdefault(name, []).append((size, seconds, peak))
    print("\n| tool | seconds per MB (least squares) | peak MB per input MB | peak at largest / smallest |")
    print("|---|---:|---:|---:|")
    for name, points in measured.items():
        print(f"| {name} | {_slope([(m, s) for m, s, _ in points]):.3f} | "
              f"{_slope([(m, p) for m, _, p in points]):.1f} | {points[-1][2] / points[0][2]:.1f}× |")
    shutil.rmtree(work, ignore_errors=True)


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x: how a cost grows with the input's size."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


if __name__ == "__main__":
    main()
