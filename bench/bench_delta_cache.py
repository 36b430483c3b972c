"""What `git cat-file --batch`'s delta-base cache buys: CPU and memory of reading every unique
blob the way `rotator audit` does (in 2000-blob batches dealt to READERS processes in turn),
for several cache sizes and two orders, interleaved: the store's own (pack) order, which
rotator uses, and rev-list order, which it used before.

    python bench/bench_delta_cache.py REPO [--readers 2] [--sizes 16m,32m,64m,256m] [--orders pack,rev-list]

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


def pack_order(repo: Path, blobs: list[str]) -> list[str]:
    """`blobs` in the order `cat-file --batch-all-objects --unordered` walks the store."""
    listed = subprocess.run(["git", "cat-file", "--batch-all-objects", "--unordered", "--batch-check=%(objectname)"],
                            cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    position = {oid: index for index, oid in enumerate(listed)}
    return sorted(blobs, key=position.__getitem__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--sizes", default="16m,32m,64m,256m")
    parser.add_argument("--orders", default="pack,rev-list")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    repo = args.repo.resolve()
    listed = blob_list(repo)
    orders = {"rev-list": listed, "pack": pack_order(repo, listed)}
    work = Path(tempfile.mkdtemp(prefix="rotator-delta-"))
    shares: dict[str, list[Path]] = {}
    for order in args.orders.split(","):
        shares[order] = []
        for reader in range(args.readers):
            mine = [oid for index, oid in enumerate(orders[order]) if (index // BATCH) % args.readers == reader]
            share = work / f"{order}-reader-{reader}.txt"
            share.write_text("\n".join(mine) + "\n")
            shares[order].append(share)
    sizes = args.sizes.split(",")
    cases = [(order, size) for order in shares for size in sizes]
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {case: [] for case in cases}
    for _ in range(args.runs):
        for order, size in cases:
            readers = " & ".join(
                f"git -C '{repo}' -c core.deltaBaseCacheLimit={size} cat-file --batch < '{share}' > /dev/null"
                for share in shares[order])
            run = run_measured(["sh", "-c", f"{readers} & wait"])
            figures[(order, size)].append((run.cpu_seconds, run.peak_tree_pss_mb))
    reference = statistics.median(cpu for cpu, _ in figures[cases[-1]])
    print(f"repository: {repo} ({len(listed)} unique blobs), {args.readers} readers, {args.runs} interleaved runs\n"
          f"machine: {machine_description()}\n")
    print(f"| order | delta-base cache per reader | CPU s (all readers) | × CPU of {cases[-1][0]} at {cases[-1][1]} "
          "| peak PSS MB (all readers) |\n|---|---|---:|---:|---:|")
    for order, size in cases:
        cpu = statistics.median(c for c, _ in figures[(order, size)])
        pss = max(p for _, p in figures[(order, size)])
        print(f"| {order} | {size} | {cpu:.2f} | {cpu / reference:.2f} | {pss:.0f} |")


if __name__ == "__main__":
    main()
