"""The synthetic benchmark repository: deterministic, and the audit finds every planted
secret (deleted files, side branches, tags, the stash, merge resolutions) and no placeholder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from make_synthetic_repo import build  # noqa: E402
from recall import check_recall  # noqa: E402


def _refs(repo: Path) -> str:
    return subprocess.run(["git", "for-each-ref", "--format=%(objectname) %(refname)"], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def test_same_seed_same_repository(tmp_path):
    build(tmp_path / "a", commits=6, seed=3)
    build(tmp_path / "b", commits=6, seed=3)
    assert _refs(tmp_path / "a") == _refs(tmp_path / "b")
    assert "refs/stash" in _refs(tmp_path / "a") and "refs/tags/v1.0.1-hotfix" in _refs(tmp_path / "a")


def test_audit_recall_is_complete_and_placeholders_are_not_reported(tmp_path):
    manifest = build(tmp_path / "repo", commits=20, seed=11)
    completed = subprocess.run([sys.executable, "-m", "rotator", "audit", str(tmp_path / "repo"),
                                "--no-cache", "-f", "json"], capture_output=True, text=True)
    assert completed.returncode == 1, completed.stderr
    result = check_recall(json.loads(completed.stdout), manifest)
    assert not result.missed, [s["where"] for s in result.missed]
    assert not result.placeholders_reported, [p["value"] for p in result.placeholders_reported]
    wheres = {s["where"] for s in result.found}
    assert {"stash", "merge resolution", "tag only", "unmerged branch", "deleted file, markdown table"} <= wheres
