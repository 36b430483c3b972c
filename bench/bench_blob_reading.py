"""What reading blobs costs, the ways an audit can read them: every blob of a repository, in the
store's own order, read into this Python process through `git cat-file --batch` and a pipe
(rotator's reader before libgit2, still the one for loose objects), through libgit2 in-process
(pygit2, packs only: rotator's reader now), and `git cat-file --batch` writing to /dev/null
(no reader at all: the floor), interleaved.

    python bench/bench_blob_reading.py /tmp/rotator-bench-inputs/sqlalchemy.git --runs 3

Per way: median wall and CPU seconds over the whole process tree (git included), and the peak
PSS of the tree. The CPU of the pipe is in both processes' system time: git writes every byte
into it and Python copies every byte out.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import machine_description, run_measured

BATCH = 2000  # rotator.scan.audit.CHUNK_BLOBS: how the audit hands blobs to a reader


def store_order(repo: Path) -> list[str]:
    """Every blob in the order `cat-file --batch-all-objects --unordered` walks the store."""
    listed = subprocess.run(["git", "cat-file", "--batch-all-objects", "--unordered",
                             "--batch-check=%(objecttype) %(objectname)"],
                            cwd=repo, capture_output=True, text=True, check=True).stdout
    return [line.split()[1] for line in listed.splitlines() if line.startswith("blob ")]


def read_all(repo: Path, oids_file: Path, way: str) -> None:
    """Read every blob listed in `oids_file` with rotator's reader `way`, in batches."""
    from rotator.scan.sources.history import BlobReader, BlobRef, LibgitBlobReader

    reader = LibgitBlobReader.open(repo) if way == "libgit2" else BlobReader(repo)
    if reader is None:
        sys.exit("libgit2 cannot read this repository's packs (is pygit2 installed?)")
    blobs = [BlobRef(oid, 0, "") for oid in oids_file.read_text().split()]
    total = unreadable = 0
    try:
        for start in range(0, len(blobs), BATCH):
            for _, content in reader.read(blobs[start:start + BATCH]):
                if content is None:
                    unreadable += 1
                else:
                    total += len(content)
    finally:
        reader.close()
    print(f"{total} bytes, {unreadable} unreadable", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--read-with", choices=("git", "libgit2"), help=argparse.SUPPRESS)
    parser.add_argument("--oids", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    repo = args.repo.resolve()
    if args.read_with:
        read_all(repo, args.oids, args.read_with)
        return
    oids = store_order(repo)
    oids_file = Path(tempfile.mkdtemp(prefix="rotator-reading-")) / "blobs.txt"
    oids_file.write_text("\n".join(oids) + "\n")
    me = [sys.executable, str(Path(__file__).resolve()), str(repo), "--oids", str(oids_file), "--read-with"]
    ways = {
        "git cat-file --batch > /dev/null (no reader: the floor)":
            ["sh", "-c", f"git -C '{repo}' cat-file --batch < '{oids_file}' > /dev/null"],
        "git cat-file --batch, a pipe, Python reads it": [*me, "git"],
        "libgit2 in-process (pygit2, packs)": [*me, "libgit2"],
    }
    figures: dict[str, list] = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, command in ways.items():
            run = run_measured(command)
            if run.returncode != 0:
                sys.exit(f"{name} failed (exit {run.returncode})")
            figures[name].append(run)
    floor = statistics.median(run.cpu_seconds for run in figures[next(iter(ways))])
    print(f"repository: {repo} ({len(oids)} blobs), {args.runs} interleaved runs\n"
          f"machine: {machine_description()}\n")
    print("| way | median wall s | median CPU s (whole tree) | × CPU of the floor | peak tree PSS MB |\n"
          "|---|---:|---:|---:|---:|")
    for name, runs in figures.items():
        cpu = statistics.median(run.cpu_seconds for run in runs)
        print(f"| {name} | {statistics.median(run.seconds for run in runs):.2f} | {cpu:.2f} | "
              f"{cpu / floor:.2f} | {max(run.peak_tree_pss_mb for run in runs):.0f} |")


if __name__ == "__main__":
    main()
