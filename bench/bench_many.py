"""Many small repositories, one after another, as a CI fleet or an organisation-wide sweep
audits them: every repository of bench/precision/manifest.json (51 public applications), each
tool in turn on each repository (interleaved), the whole history, cold. What this measures is
fixed costs: interpreter and start-up, rules, process spawning, per-repository git work.

    pip install -e '.[bench]'
    # bring each repository of bench/precision/manifest.json with the search tool's fetch
    python bench/bench_many.py [--runs 1]

Per tool: the total wall and CPU seconds over all repositories (median over runs), the median
per repository, and the ratio to the fastest peer's total.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from measure import machine_description, real_gitleaks, rotator_as_installed, run_measured

MANIFEST = Path(__file__).parent / "precision" / "manifest.json"


def commands(repo: Path, work: Path) -> dict[str, list[str]]:
    """How each tool audits one repository's whole history (the same as bench_audit.py)."""
    tools = {
        "rotator audit (cold, --no-cache)": ["rotator", "audit", str(repo), "--no-worktree", "--no-cache", "-q",
                                             "-f", "json", "-o", str(work / "rotator.json")],
        "betterleaks git": ["betterleaks", "git", str(repo), "--no-banner", "--silent", "--exit-code", "0",
                            "--log-level", "error", "--output", str(work / "betterleaks.json")],
        "kingfisher scan (full history)": ["kingfisher", "scan", str(repo), "--git-history", "full",
                                           "--no-validate", "--format", "json", "--output",
                                           str(work / "kingfisher.json"), "--no-update-check",
                                           "--rule-cache-dir", str(work / "kingfisher-rules")],
    }
    gitleaks = real_gitleaks()
    if gitleaks:
        tools["gitleaks git"] = [gitleaks, "git", str(repo), "--report-format", "json", "--report-path",
                                 str(work / "gitleaks.json"), "--no-banner", "--exit-code", "0",
                                 "--log-level", "error"]
    return tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args()
    rotator_as_installed()
    repos = [Path(entry["mirror"]) for entry in json.loads(args.manifest.read_text())["repos"]]
    repos = [repo for repo in repos if repo.exists()]
    work = Path(tempfile.mkdtemp(prefix="rotator-many-"))
    totals: dict[str, list[tuple[float, float]]] = {}
    per_repo: dict[str, list[float]] = {}
    for _ in range(args.runs):
        run_totals: dict[str, list[float]] = {}
        for repo in repos:
            for name, command in commands(repo, work).items():  # interleaved per repository
                run = run_measured(command, sample_memory=False)
                wall, cpu = run_totals.setdefault(name, [0.0, 0.0])
                run_totals[name] = [wall + run.seconds, cpu + run.cpu_seconds]
                per_repo.setdefault(name, []).append(run.seconds)
        for name, (wall, cpu) in run_totals.items():
            totals.setdefault(name, []).append((wall, cpu))
    peers = [statistics.median(w for w, _ in runs) for name, runs in totals.items() if not name.startswith("rotator")]
    fastest = min(peers) if peers else None
    print(f"{len(repos)} repositories, {args.runs} run(s), each tool in turn on each repository\n"
          f"machine: {machine_description()}\n")
    print("| tool | total wall s | total CPU s | median s per repository | × fastest peer |\n|---|---:|---:|---:|---:|")
    for name, runs in totals.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        ratio = f"{wall / fastest:.2f}" if fastest else ""
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {statistics.median(per_repo[name]):.2f} | {ratio} |")


if __name__ == "__main__":
    main()
