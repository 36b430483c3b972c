"""The pre-commit hook, side by side in one run: `rotator scan --staged` vs
`detect-secrets-hook` vs `gitleaks git --pre-commit --staged`, 20 interleaved runs each.

    python bench/bench_hook.py [--runs 20]

Builds a throwaway repository with a typical commit: 5 staged files, about 200 added lines,
one leaked Resend key. Whole processes are timed, interpreter start included. Prints p50,
p90 and best, and the ratio to rotator.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import tempfile
from pathlib import Path

from measure import Series, machine_description, real_gitleaks, rotator_as_installed, run_measured

ALNUM = string.ascii_letters + string.digits


def build_commit(root: Path, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    env = {**os.environ, "GIT_AUTHOR_NAME": "B", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "B", "GIT_COMMITTER_EMAIL": "b@example.com"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    files = ["app/models.py", "app/views.py", "web/src/api.ts", "docs/DEPLOY.md", "config/app.env"]
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# existing content\n" * 50)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=root, check=True, env=env)
    for index, name in enumerate(files):
        lines = [f"value_{index}_{i} = compute({i}, '{rng.choice(ALNUM) * 3}')" for i in range(40)]
        if name.endswith(".env"):
            key = "re_" + "".join(rng.choice(ALNUM) for _ in range(8)) + "_" + "".join(rng.choice(ALNUM) for _ in range(24))
            lines[20] = f"RESEND_API_KEY={key}"
        with (root / name).open("a") as handle:
            handle.write("\n".join(lines) + "\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rotator_as_installed()
    work = Path(tempfile.mkdtemp(prefix="rotator-bench-hook-"))
    repo = work / "repo"
    files = build_commit(repo)
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(work / "cache")}
    commands = {
        "rotator scan --staged": ["rotator", "scan", "--staged", *files],
        "detect-secrets-hook": ["detect-secrets-hook", *files],
        "gitleaks git --pre-commit --staged": [real_gitleaks() or "gitleaks", "git", "--pre-commit", "--staged", "--no-banner",
                                              "--log-level", "error", "."],
    }
    for command in commands.values():  # warm: rule cache, page cache
        run_measured(command, cwd=repo, env=env, sample_memory=False)
    series = {name: Series(name) for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            series[name].runs.append(run_measured(command, cwd=repo, env=env, sample_memory=False))
    print(f"commit: 5 staged files, 200 added lines, one leaked key\nmachine: {machine_description()}\n")
    ours = series["rotator scan --staged"].median
    print("| hook | p50 ms | p90 ms | best ms | × rotator | exit code |\n|---|---:|---:|---:|---:|---:|")
    for name, s in series.items():
        print(f"| {name} | {s.median * 1000:.0f} | {s.percentile(0.9) * 1000:.0f} | {s.best * 1000:.0f} | "
              f"{s.median / ours:.1f} | {s.runs[-1].returncode} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
