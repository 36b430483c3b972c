"""The scaling bench's synthetic history (bench/make_history.py), built small: the same seed
gives the same objects (every ref, every object id) and the same pack, the shape has what the bench relies on (merged and
unmerged branches, a tag-only commit, renames, deletions), and `rotator audit` finds every
planted secret and no placeholder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from make_history import build  # noqa: E402
from recall import check_recall, match_planted  # noqa: E402

SMALL = 90  # commits per scale unit (the bench uses 1,700)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, dict]:
    repo = tmp_path_factory.mktemp("history") / "small.git"
    return repo, build(repo, scale=2, seed=5, commits_per_unit=SMALL)


def objects(repo: Path) -> str:
    return git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(objectsize)")


def pack_digest(repo: Path) -> str:
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    return hashlib.sha256(pack.read_bytes()).hexdigest()


def test_same_seed_same_refs_objects_and_pack(history, tmp_path):
    repo, manifest = history
    again = build(tmp_path / "again.git", scale=2, seed=5, commits_per_unit=SMALL)
    assert git(repo, "show-ref") == git(tmp_path / "again.git", "show-ref")
    assert objects(repo) == objects(tmp_path / "again.git")
    assert pack_digest(repo) == pack_digest(tmp_path / "again.git")
    assert json.dumps(manifest) == json.dumps(again)
    other = build(tmp_path / "other.git", scale=2, seed=6, commits_per_unit=SMALL)
    assert git(tmp_path / "other.git", "rev-parse", "main") != git(repo, "rev-parse", "main")
    assert {s["sha256"] for s in other["secrets"]}.isdisjoint(s["sha256"] for s in manifest["secrets"])


def test_shape_has_branches_tags_renames_and_deletions(history):
    repo, manifest = history
    refs = git(repo, "for-each-ref", "--format=%(refname)").split()
    assert any(r.startswith("refs/heads/feature/") for r in refs)
    assert any(r.startswith("refs/heads/experiment/") for r in refs)
    assert "refs/tags/v0.9.1-hotfix" in refs and "refs/tags/v1.9.1-hotfix" in refs
    assert int(git(repo, "rev-list", "--all", "--merges", "--count")) > 0
    changes = set(git(repo, "log", "--all", "--name-status", "-M", "--format=").splitlines())
    assert "R100\tdeploy/keys/service-0.pem\tdeploy/keys/backend-0.pem" in changes
    assert {"D\tdeploy/.env.production.1", "D\tdocs/ops/runbook-0.md"} <= changes
    head = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert {"web/package-lock.json", "web/static/dist/vendor.min.js", "config/env/production-1.env"} <= set(head)
    assert "deploy/.env.production.0" not in head  # its secrets live only in history
    assert len(manifest["secrets"]) == 2 * 11 and len(manifest["placeholders"]) == 2 * 5
    assert len(list((repo / "objects" / "pack").glob("*.pack"))) == 1


def test_audit_finds_every_planted_secret_and_no_placeholder(history):
    repo, manifest = history
    completed = subprocess.run([sys.executable, "-m", "rotator", "audit", str(repo), "--no-worktree", "--no-cache",
                                "-f", "json"], capture_output=True, text=True)
    assert completed.returncode == 1, completed.stderr
    result = check_recall(json.loads(completed.stdout), manifest)
    assert not result.missed, [s["where"] for s in result.missed]
    assert not result.placeholders_reported, [p["value"] for p in result.placeholders_reported]


def test_peer_values_count_when_they_contain_the_planted_secret():
    manifest = {"secrets": [{"sha256": hashlib.sha256(b"pw-123456").hexdigest(), "value": "pw-123456"},
                            {"sha256": hashlib.sha256(b"never").hexdigest(), "value": "never"}],
                "placeholders": [{"sha256": hashlib.sha256(b"pass").hexdigest(), "value": "pass"}]}
    result = match_planted({"postgresql://app:pw-123456@db/app", "pass word"}, manifest)
    assert [s["value"] for s in result.found] == ["pw-123456"] and not result.placeholders_reported
    assert match_planted({"pass"}, manifest).placeholders_reported
