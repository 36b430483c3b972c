"""History audit, side by side in one run: rotator (cold and warm cache) vs gitleaks vs
detect-secrets, on the same repository.

    python bench/bench_audit.py REPO [--runs 3] [--json OUT]

Prints wall time (median and best), peak RSS and distinct secrets for each tool, with ratios
to gitleaks. detect-secrets only reads a checkout of HEAD (it has no history mode): its row is
for context, not a like-for-like comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from measure import Series, machine_description, run_measured, tool_versions


def distinct_rotator(path: Path) -> int:
    return len({f["secret_sha256"] for f in json.loads(path.read_text())["findings"]})


def distinct_gitleaks(path: Path) -> int:
    return len({f["Secret"] for f in json.loads(path.read_text() or "[]")})


def distinct_detect_secrets(path: Path) -> int:
    results = json.loads(path.read_text())["results"]
    return len({r["hashed_secret"] for items in results.values() for r in items})


def repo_facts(repo: Path) -> str:
    commits = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True,
                             text=True).stdout.strip()
    refs = len(subprocess.run(["git", "for-each-ref"], cwd=repo, capture_output=True, text=True).stdout.splitlines())
    return f"{commits} commits, {refs} refs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-detect-secrets", action="store_true")
    args = parser.parse_args()
    repo = args.repo.resolve()
    work = Path(tempfile.mkdtemp(prefix="rotator-bench-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    checkout = work / "checkout"
    checkout.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x"], cwd=checkout, input=archive, check=True)
    outputs = {name: work / f"{name}.json" for name in ("rotator", "rotator-warm", "gitleaks", "detect-secrets")}
    commands = {
        "rotator audit (cold, --no-cache)": ["rotator", "audit", str(repo), "--no-cache", "--no-worktree",
                                             "--quiet", "-f", "json", "-o", str(outputs["rotator"])],
        "rotator audit (warm cache)": ["rotator", "audit", str(repo), "--no-worktree", "--quiet", "-f", "json",
                                       "-o", str(outputs["rotator-warm"])],
        "gitleaks git": ["gitleaks", "git", str(repo), "--report-format", "json", "--report-path",
                         str(outputs["gitleaks"]), "--no-banner", "--exit-code", "0", "--log-level", "error"],
    }
    series = {name: Series(name) for name in commands}
    # prime the warm cache once
    run_measured(commands["rotator audit (warm cache)"], env=env)
    for _ in range(args.runs):  # interleaved, so machine noise hits every tool alike
        for name, command in commands.items():
            series[name].runs.append(run_measured(command, env=env))
    if not args.skip_detect_secrets and shutil.which("detect-secrets"):
        ds = Series("detect-secrets scan --all-files (HEAD checkout only)")
        with outputs["detect-secrets"].open("w") as sink:
            ds.runs.append(run_measured(["detect-secrets", "scan", "--all-files", "."], cwd=checkout, stdout=sink))
        series[ds.name] = ds
    distinct = {
        "rotator audit (cold, --no-cache)": distinct_rotator(outputs["rotator"]),
        "rotator audit (warm cache)": distinct_rotator(outputs["rotator-warm"]),
        "gitleaks git": distinct_gitleaks(outputs["gitleaks"]),
    }
    if outputs["detect-secrets"].exists():
        distinct["detect-secrets scan --all-files (HEAD checkout only)"] = distinct_detect_secrets(outputs["detect-secrets"])
    baseline = series["gitleaks git"].median
    print(f"repository: {repo} ({repo_facts(repo)})\nmachine: {machine_description()}\n")
    print("| tool | median s | best s | × gitleaks | peak RSS MB | distinct secrets |\n|---|---:|---:|---:|---:|---:|")
    for name, s in series.items():
        print(f"| {name} | {s.median:.2f} | {s.best:.2f} | {s.median / baseline:.2f} | {s.peak_rss_mb:.0f} | {distinct.get(name, '')} |")
    if args.json:
        args.json.write_text(json.dumps({
            "repo": str(repo), "machine": machine_description(), "versions": tool_versions(),
            "series": {n: [r.__dict__ for r in s.runs] for n, s in series.items()}, "distinct": distinct,
        }, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
