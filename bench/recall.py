"""Recall on a synthetic repository: every planted secret found, no placeholder reported.

    python bench/recall.py REPO MANIFEST

Runs `rotator audit REPO --format json --no-cache` and compares hashes with the manifest that
`bench/make_synthetic_repo.py` or `bench/make_history.py` wrote. Exit 1 if recall is below 100% or a placeholder shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RecallResult:
    found: list[dict] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)
    placeholders_reported: list[dict] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0

    @property
    def perfect(self) -> bool:
        return not self.missed and not self.placeholders_reported


def check_recall(report: dict, manifest: dict) -> RecallResult:
    return match_planted({f["secret_sha256"] for f in report["findings"]}, manifest, hashed=True)


def match_planted(reported: set[str], manifest: dict, hashed: bool = False) -> RecallResult:
    """Which planted secrets and placeholders a tool reported. `reported` holds SHA-256 hashes
    (rotator) or values (the peers). A value counts a planted secret found when it contains it
    (a peer reports the whole database URL of a planted password); a placeholder counts only
    when reported exactly."""
    hashes = reported if hashed else {hashlib.sha256(value.encode()).hexdigest() for value in reported}
    result = RecallResult()
    for secret in manifest["secrets"]:
        found = secret["sha256"] in hashes or (not hashed and any(secret["value"] in value for value in reported))
        (result.found if found else result.missed).append(secret)
    result.placeholders_reported = [p for p in manifest["placeholders"] if p["sha256"] in hashes]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("manifest", type=Path)
    args = parser.parse_args()
    completed = subprocess.run(["rotator", "audit", str(args.repo), "--format", "json", "--no-cache"],
                               capture_output=True, text=True)
    if completed.returncode == 2:
        sys.exit(f"rotator failed: {completed.stderr.strip()}")
    result = check_recall(json.loads(completed.stdout), json.loads(args.manifest.read_text()))
    print("| where | family | found |\n|---|---|---|")
    for secret in result.found + result.missed:
        print(f"| {secret['where']} | {secret['family']} | {'yes' if secret in result.found else 'NO'} |")
    print(f"\nrecall {result.recall:.0%} ({len(result.found)}/{len(result.found) + len(result.missed)}); "
          f"placeholders reported: {len(result.placeholders_reported)}")
    sys.exit(0 if result.perfect else 1)


if __name__ == "__main__":
    main()
