"""How time and memory grow with history: one synthetic shape at 1x, 4x and 16x, every tool
interleaved on every size, the slope (time ~ size^slope) and each tool's recall of the planted
secrets at each size.

    python bench/make_bench_inputs.py --synthetic           # synthetic-1x, -4x, -16x.git (bench/make_history.py)
    python bench/bench_scaling.py /tmp/rotator-bench-inputs --runs 2

The tools are bench_audit.py's (one definition of how each is run): the floor (git reading
every object once), rotator cold (`audit --no-worktree --no-cache`), gitleaks, betterleaks and
kingfisher (full history, no validation); detect-secrets is left out (it has no history mode).
A round runs every tool on every size in turn, so machine noise hits all alike. Size is the
number of commits; the slope between two sizes is log(t2/t1)/log(n2/n1): 1 is linear, below 1
fixed costs still weigh, above 1 the tool grows faster than the history. Memory is the peak
of the whole process tree's PSS (measure.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench_audit import REAUDIT, Tool, build_tools, run_tool
from measure import Series, machine_description, rotator_as_installed, tool_versions
from recall import RecallResult, match_planted

SCALES = (1, 4, 16)


def slope(values: dict[int, float], sizes: dict[int, int], small: int, large: int) -> str:
    if values[small] <= 0 or values[large] <= 0:
        return "–"
    return f"{math.log(values[large] / values[small]) / math.log(sizes[large] / sizes[small]):.2f}"


def describe(repo: Path) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout

    blobs = [int(size) for kind, size in (line.split() for line in git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)").splitlines())
        if kind == "blob"]
    packed = sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack"))
    return {"commits": int(git("rev-list", "--all", "--count")), "refs": len(git("for-each-ref").splitlines()),
            "blobs": len(blobs), "blob_mb": sum(blobs) / 1e6, "packed_mb": packed / 1e6}


def recall_cell(tool: Tool, manifest: dict) -> tuple[str, RecallResult | None]:
    if not tool.secrets or not tool.report:
        return "", None
    reported = tool.secrets(tool.report)
    result = match_planted(reported, manifest, hashed=tool.secrets.__name__ == "secrets_rotator")
    return (f"{len(result.found)}/{len(result.found) + len(result.missed)}"
            f" ({len(result.placeholders_reported)}; {len(reported)})"), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, help="the folder holding synthetic-1x.git, -4x.git, -16x.git")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args()
    rotator_as_installed()
    tool_args = argparse.Namespace(gitleaks=None, betterleaks="betterleaks", kingfisher="kingfisher",
                                   detect_secrets="detect-secrets", skip_detect_secrets=True)
    work = Path(tempfile.mkdtemp(prefix="rotator-scaling-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    facts, manifests, plans = {}, {}, {}
    for scale in SCALES:
        repo = (args.inputs / f"synthetic-{scale}x.git").resolve()
        if not repo.is_dir():
            raise SystemExit(f"{repo}: not found; build it: python bench/make_bench_inputs.py --synthetic")
        facts[scale] = describe(repo)
        manifests[scale] = json.loads(repo.with_suffix(".manifest.json").read_text())
        folder = work / f"{scale}x"
        folder.mkdir()
        plans[scale] = [t for t in build_tools(repo, folder, tool_args) if t.name != REAUDIT]
    names = [t.name for t in plans[SCALES[0]]]
    series = {(scale, t.name): Series(t.name) for scale, tools in plans.items() for t in tools}
    for scale, tools in plans.items():  # untimed: the pack in the page cache, the caches a user has warm
        for tool in tools:
            if tool.prime or tool.name.startswith("floor") or (scale == SCALES[0] and "rotator" in tool.name):
                run_tool(tool, env)
    for _ in range(args.runs):  # interleaved: every tool on every size, in turn
        for scale, tools in plans.items():
            for tool in tools:
                series[(scale, tool.name)].runs.append(run_tool(tool, env))
    sizes = {scale: facts[scale]["commits"] for scale in SCALES}

    print(f"machine: {machine_description()}; load before: {os.getloadavg()[0]:.1f}\n{args.runs} interleaved runs\n")
    print("| input | commits | refs | blobs | blob MB | packed MB |\n|---|---:|---:|---:|---:|---:|")
    for scale in SCALES:
        f = facts[scale]
        print(f"| {scale}x | {f['commits']:,} | {f['refs']:,} | {f['blobs']:,} | {f['blob_mb']:,.0f} | {f['packed_mb']:.0f} |")

    def table(title: str, figure, unit: str, fmt: str) -> None:
        print(f"\n{title}\n\n| tool | " + " | ".join(f"{s}x {unit}" for s in SCALES)
              + f" | slope 1x→{SCALES[-1]}x | slope {SCALES[1]}x→{SCALES[-1]}x | {SCALES[-1]}x ÷ rotator |")
        print("|---|" + "---:|" * (len(SCALES) + 3))
        rotator = next(n for n in names if n.startswith("rotator"))
        for name in names:
            values = {scale: figure(series[(scale, name)]) for scale in SCALES}
            ratio = values[SCALES[-1]] / figure(series[(SCALES[-1], rotator)])
            print(f"| {name} | " + " | ".join(format(values[s], fmt) for s in SCALES)
                  + f" | {slope(values, sizes, SCALES[0], SCALES[-1])} | {slope(values, sizes, SCALES[1], SCALES[-1])}"
                  f" | {ratio:.2f} |")

    table("Wall time (median):", lambda s: s.median, "s", ".2f")
    table("CPU time, user + system of the whole tree (median):", lambda s: s.median_cpu, "CPU s", ".2f")
    table("Peak memory of the whole process tree (PSS, highest run):", lambda s: s.peak_tree_pss_mb, "MB", ".0f")

    print("\nPlanted secrets found / planted (placeholders reported; distinct values reported):\n\n| tool | "
          + " | ".join(f"{s}x" for s in SCALES) + " | missed at 16x, by placement |\n|---|" + "---|" * (len(SCALES) + 1))
    recalls = {}
    for name in names:
        cells, missed = [], ""
        for scale in SCALES:
            tool = next(t for t in plans[scale] if t.name == name)
            cell, result = recall_cell(tool, manifests[scale])
            cells.append(cell)
            if result is not None:
                recalls[(scale, name)] = len(result.found)
                if scale == SCALES[-1]:
                    kinds: dict[str, int] = {}
                    for secret in result.missed:
                        kind = secret["where"].split(" (unit")[0]
                        kinds[kind] = kinds.get(kind, 0) + 1
                    missed = "; ".join(f"{kind} ×{count}" for kind, count in sorted(kinds.items()))
        print(f"| {name} | " + " | ".join(cells) + f" | {missed} |")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine_description(), "versions": tool_versions(), "inputs": facts,
            "series": {f"{scale}x {name}": [r.__dict__ for r in s.runs] for (scale, name), s in series.items()},
            "recall": {f"{scale}x {name}": found for (scale, name), found in recalls.items()},
        }, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
