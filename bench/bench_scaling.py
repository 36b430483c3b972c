"""How time and memory grow with history: one synthetic shape at 1x, 4x and 16x, every tool
interleaved on each size, and the slope (time ~ size^slope) from 1x to 16x.

    python bench/make_bench_inputs.py --synthetic 200     # synthetic-1x, -4x, -16x (packed)
    python bench/bench_scaling.py /tmp/rotator-bench-inputs --runs 2

Size is the number of commits. A slope of 1 is linear; below 1, fixed costs still dominate.
detect-secrets is left out (it has no history mode). Memory is the whole tree's peak PSS.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench_audit import build_tools, run_tool
from measure import Series, machine_description

SCALES = (1, 4, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, help="the folder holding synthetic-1x, -4x, -16x")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    tool_args = argparse.Namespace(gitleaks=None, betterleaks="betterleaks", kingfisher="kingfisher",
                                   detect_secrets="detect-secrets", skip_detect_secrets=True)
    work = Path(tempfile.mkdtemp(prefix="rotator-scaling-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    sizes, plans = {}, {}
    for scale in SCALES:
        repo = (args.inputs / f"synthetic-{scale}x").resolve()
        sizes[scale] = int(subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True,
                                          text=True, check=True).stdout)
        folder = work / f"{scale}x"
        folder.mkdir()
        plans[scale] = [t for t in build_tools(repo, folder, tool_args) if "again" not in t.name]
    series = {(scale, t.name): Series(t.name) for scale, tools in plans.items() for t in tools}
    for tool in plans[SCALES[0]]:  # caches a user has warm (rotator's rules and word lists)
        run_tool(tool, env)
    for _ in range(args.runs):
        for scale, tools in plans.items():
            for tool in tools:
                series[(scale, tool.name)].runs.append(run_tool(tool, env))
    print(f"machine: {machine_description()}\n{args.runs} interleaved runs; commits: "
          + ", ".join(f"{scale}x = {sizes[scale]}" for scale in SCALES) + "\n")
    header = " | ".join(f"{scale}x s | {scale}x MB" for scale in SCALES)
    print(f"| tool | {header} | time slope |\n|---|" + "---:|" * (2 * len(SCALES) + 1))
    for tool in plans[SCALES[0]]:
        cells, times = [], []
        for scale in SCALES:
            s = series[(scale, tool.name)]
            times.append(s.median)
            cells.append(f"{s.median:.2f} | {s.peak_tree_pss_mb:.0f}")
        slope = math.log(times[-1] / times[0]) / math.log(sizes[SCALES[-1]] / sizes[SCALES[0]])
        print(f"| {tool.name} | {' | '.join(cells)} | {slope:.2f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
