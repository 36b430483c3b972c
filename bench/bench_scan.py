"""Working-tree scan, side by side in one run: rotator scan vs detect-secrets vs gitleaks dir.

    python bench/bench_scan.py PATH [--runs 3]

Prints wall time, throughput (MB/s), peak RSS, distinct secrets and the speed-up over
detect-secrets for each tool. PATH is any directory (make one with make_mixed_tree.py).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_audit import distinct_detect_secrets, distinct_gitleaks, distinct_rotator
from measure import Series, machine_description, real_gitleaks, rotator_as_installed, run_measured


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and ".git" not in p.parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rotator_as_installed()
    path = args.path.resolve()
    work = Path(tempfile.mkdtemp(prefix="rotator-bench-scan-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    out = {n: work / f"{n}.json" for n in ("rotator", "gitleaks", "detect-secrets")}
    commands = {
        "rotator scan": (["rotator", "scan", str(path), "--all-files", "--quiet", "-f", "json", "-o", str(out["rotator"])], None),
        "gitleaks dir": ([real_gitleaks() or "gitleaks", "dir", str(path), "--report-format", "json", "--report-path",
                          str(out["gitleaks"]), "--no-banner", "--exit-code", "0", "--log-level", "error"], None),
        # run from inside the tree with "." (given an absolute path from elsewhere, detect-secrets
        # 1.5.0 was seen here to return an empty result in 0.3 s)
        "detect-secrets scan --all-files": (["detect-secrets", "scan", "--all-files", "."], out["detect-secrets"]),
    }
    run_measured(commands["rotator scan"][0], env=env)  # build the rule cache once, as any second run has it
    series = {name: Series(name) for name in commands}
    for _ in range(args.runs):
        for name, (command, sink_path) in commands.items():
            if sink_path is None:
                series[name].runs.append(run_measured(command, env=env))
            else:
                with sink_path.open("w") as sink:
                    series[name].runs.append(run_measured(command, cwd=path, env=env, stdout=sink))
    distinct = {"rotator scan": distinct_rotator(out["rotator"]), "gitleaks dir": distinct_gitleaks(out["gitleaks"]),
                "detect-secrets scan --all-files": distinct_detect_secrets(out["detect-secrets"])}
    size = tree_bytes(path)
    reference = series["detect-secrets scan --all-files"].median
    print(f"tree: {path} ({size / 1e6:.1f} MB)\nmachine: {machine_description()}\n")
    print("| tool | median s | MB/s | × faster than detect-secrets | peak tree PSS MB | largest process RSS MB "
          "| distinct secrets |\n|---|---:|---:|---:|---:|---:|---:|")
    for name, s in series.items():
        print(f"| {name} | {s.median:.2f} | {size / 1e6 / s.median:.1f} | {reference / s.median:.1f} "
              f"| {s.peak_tree_pss_mb:.0f} | {s.peak_rss_mb:.0f} | {distinct[name]} |")


if __name__ == "__main__":
    main()
