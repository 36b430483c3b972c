"""What `git cat-file --batch`'s delta-base cache buys: CPU and memory of reading every unique
blob the way `rotator audit` does (rev-list order, in 2000-blob batches dealt to READERS
processes in turn), for several cache sizes, interleaved.

    python bench/bench_delta_cache.py REPO [--readers 2] [--sizes 32m,64m,128m,256m] [--runs 2]

Per size: the summed CPU seconds of the readers, their summed peak PSS, and the ratio of CPU
to the largest size's. rotator's choice (`DELTA_CACHE_BUDGET_MB` in
rotator/scan/sources/history.py) is a budget split between the readers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from measure import machine_description, run_measured

BATCH = 2000  # rotator.scan.audit.CHUNK_BLOBS


def blob_list(repo: Path) -> list[str]:
    lister = subprocess.Popen(["git", "rev-list", "--objects", "--all", "--missing=print"], cwd=repo,
                              stdout=subprocess.PIPE)
    checked = subprocess.run(["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
                             cwd=repo, stdin=lister.stdout, capture_output=True, text=True, check=True).stdout
    lister.wait()
    seen: dict[str, None] = {}
    for line in checked.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[1] == "blob" and int(parts[2]) <= 10 * 1024 * 1024:
            seen.setdefault(parts[0])
    return list(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--sizes", default="32m,64m,128m,256m")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    repo = args.repo.resolve()
    blobs = blob_list(repo)
    work = Path(tempfile.mkdtemp(prefix="rotator-delta-"))
    shares = []
    for reader in range(args.readers):
        mine = [oid for index, oid in enumerate(blobs) if (index // BATCH) % args.readers == reader]
        share = work / f"reader-{reader}.txt"
        share.write_text("\n".join(mine) + "\n")
        shares.append(share)
    sizes = args.sizes.split(",")
    figures: dict[str, list[tuple[float, float]]] = {size: [] for size in sizes}
    for _ in range(args.runs):
        for size in sizes:
            readers = " & ".join(
                f"git -C '{repo}' -c core.deltaBaseCacheLimit={size} cat-file --batch < '{share}' > /dev/null"
                for share in shares)
            run = run_measured(["sh", "-c", f"{readers} & wait"])
            figures[size].append((run.cpu_seconds, run.peak_tree_pss_mb))
    largest = statistics.median(cpu for cpu, _ in figures[sizes[-1]])
    print(f"repository: {repo} ({len(blobs)} unique blobs), {args.readers} readers, {args.runs} interleaved runs\n"
          f"machine: {machine_description()}\n")
    print("| delta-base cache per reader | CPU s (all readers) | × CPU of the largest | peak PSS MB (all readers) |\n"
          "|---|---:|---:|---:|")
    for size in sizes:
        cpu = statistics.median(c for c, _ in figures[size])
        pss = max(p for _, p in figures[size])
        print(f"| {size} | {cpu:.2f} | {cpu / largest:.2f} | {pss:.0f} |")


if __name__ == "__main__":
    main()
