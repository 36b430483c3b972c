"""Prepare the benchmark inputs: whole bare copies of public mirrors, and synthetic histories.

    # public repositories: bring the mirror first with the search tool's fetch
    #   fetch github:pallets/flask            -> /work/.mirror/pallets+flask/repo
    #   fetch github:sqlalchemy/sqlalchemy    -> /work/.mirror/sqlalchemy+sqlalchemy/repo
    python bench/make_bench_inputs.py flask sqlalchemy [--mirrors /work/.mirror] [--out DIR]
    # synthetic histories of one shape at 1x, 4x, 16x (bench/make_history.py; 16x ~ sqlalchemy)
    python bench/make_bench_inputs.py --synthetic

A snapshot may lack a few objects (its largest files are sometimes left out). Every peer but
rotator stops at the first missing object, so the copy leaves out the refs that reach one
(named on stdout): all tools then read the same, whole history. Nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import make_history

PUBLIC = {"flask": "pallets+flask", "sqlalchemy": "sqlalchemy+sqlalchemy"}
SCALES = (1, 4, 16)


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)
    return done.stdout


def refs_reaching_missing_objects(mirror: Path) -> list[str]:
    listing = git(mirror, "rev-list", "--objects", "--all", "--missing=print")
    missing = [line[1:].strip() for line in listing.splitlines() if line.startswith("?")]
    refs: set[str] = set()
    for oid in missing:
        for commit in git(mirror, "log", "--all", "--format=%H", f"--find-object={oid}").split():
            refs.update(git(mirror, "for-each-ref", "--contains", commit, "--format=%(refname)").split())
    return sorted(refs)


def whole_copy(mirror: Path, out: Path) -> Path:
    """A bare copy of `mirror` holding every ref whose history is complete."""
    if out.exists():
        print(f"{out}: already there")
        return out
    excluded = refs_reaching_missing_objects(mirror)
    for ref in excluded:
        print(f"{mirror}: left out {ref} (it reaches an object missing from the snapshot)")
    subprocess.run(["git", "init", "-q", "--bare", str(out)], check=True)
    git(out, "fetch", "-q", str(mirror), "+refs/*:refs/*", *(f"^{ref}" for ref in excluded))
    head = git(mirror, "symbolic-ref", "HEAD", check=False).strip()
    if head:
        git(out, "symbolic-ref", "HEAD", head)
    print(f"{out}: {git(out, 'rev-list', '--all', '--count').strip()} commits, "
          f"{len(git(out, 'for-each-ref').splitlines())} refs")
    return out


def synthetic(out_dir: Path, seed: int) -> None:
    for scale in SCALES:
        out = out_dir / f"synthetic-{scale}x.git"
        if out.exists():
            print(f"{out}: already there")
            continue
        manifest = make_history.build(out, scale, seed)  # packed as a clone is
        out.with_suffix(".manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{out}: {manifest['commits']} commits, {len(manifest['secrets'])} planted secrets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"public mirrors to copy: {', '.join(PUBLIC)}")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/rotator-bench-inputs"))
    parser.add_argument("--synthetic", action="store_true",
                        help="also build the synthetic history at 1x, 4x and 16x (bench/make_history.py)")
    parser.add_argument("--seed", type=int, default=7, help="the synthetic history's seed")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        if name not in PUBLIC:
            sys.exit(f"{name}: unknown; choose from {', '.join(PUBLIC)}")
        mirror = args.mirrors / PUBLIC[name] / "repo"
        if not mirror.is_dir():
            sys.exit(f"{mirror}: not found; bring it with the search tool: fetch github:{PUBLIC[name].replace('+', '/')}")
        whole_copy(mirror, args.out / f"{name}.git")
    if args.synthetic:
        synthetic(args.out, args.seed)


if __name__ == "__main__":
    main()
