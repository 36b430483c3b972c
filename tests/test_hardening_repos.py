"""Damaged, partial and odd repositories, built for real (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit import git, make_repo, random_token

from rotator.config import ScanSettings
from rotator.scan.audit import AuditOptions, audit_repository
from rotator.scan.scan_files import ScanOptions, scan_paths


def secret_line() -> str:
    return f'DB_PASSWORD="{random_token(24)}"\n'


def audit(repo: Path, use_cache: bool = False):
    return audit_repository(repo, ScanSettings(), AuditOptions(use_cache=use_cache, jobs=1))


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def test_odd_file_names_reach_the_report_exactly(tmp_path):
    repo = make_repo(tmp_path / "repo")
    names = ["café/ünïcode.env", "tab\there.env", "new\nline.env", 'quote"d.env']
    for name in names:
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(secret_line())
    commit_all(repo)
    result = audit(repo)
    assert sorted(f.path for f in result.findings) == sorted(names)
    assert all(f.in_head for f in result.findings)


def test_folder_replaced_by_symlink_to_outside_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(secret_line())
    repo = make_repo(tmp_path / "repo")
    (repo / "d").mkdir()
    (repo / "d" / "secret.txt").write_text("nothing here\n")
    commit_all(repo)
    (repo / "d" / "secret.txt").unlink()
    (repo / "d").rmdir()
    (repo / "d").symlink_to(outside, target_is_directory=True)
    for paths in ([repo], [repo / "d" / ".."]):
        result = scan_paths(paths, ScanSettings(), ScanOptions(jobs=1))
        assert result.findings == []
    assert audit(repo).findings == []


def test_tags_to_a_blob_and_a_tree_are_told_with_their_refs(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("hello\n")
    commit_all(repo)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=secret_line(),
                          capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "tag", "-a", "-m", "a key", "key-blob", blob)
    index = tmp_path / "index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    tree_blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=secret_line(),
                               capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{tree_blob},conf/app.env"],
                   cwd=repo, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    git(repo, "tag", "key-tree", tree)
    findings = {f.path: f for f in audit(repo).findings}
    assert set(findings) == {"<refs/tags/key-blob>", "conf/app.env (in refs/tags/key-tree)"}
    assert findings["<refs/tags/key-blob>"].reachable_from == ["refs/tags/key-blob"]
    assert findings["conf/app.env (in refs/tags/key-tree)"].reachable_from == ["refs/tags/key-tree"]


def test_secret_only_in_the_index_is_found_by_audit(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("hello\n")
    commit_all(repo)
    (repo / "staged.env").write_text(secret_line())
    git(repo, "add", "staged.env")
    (repo / "staged.env").unlink()
    findings = audit(repo).findings
    assert [(f.path, [loc.state for loc in f.locations]) for f in findings] == [("staged.env", ["staged"])]


def test_objects_fetched_later_are_scanned_by_the_next_cached_audit(tmp_path):
    origin = make_repo(tmp_path / "origin")
    (origin / "old.env").write_text(secret_line())
    commit_all(origin, "add")
    (origin / "old.env").unlink()
    commit_all(origin, "remove")
    git(origin, "config", "uploadpack.allowFilter", "true")
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{origin}", str(clone))
    cache = tmp_path / "cache"
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(cache)}

    def cached_audit() -> dict:
        report = tmp_path / "report.json"
        subprocess.run([sys.executable, "-m", "rotator", "audit", str(clone), "-f", "json", "-o", str(report)],
                       cwd=tmp_path, env=env, capture_output=True, timeout=300)
        return json.loads(report.read_text())

    first = cached_audit()
    assert first["findings"] == [] and first["scan"]["skipped"]["missing_objects"] >= 1
    old_blob = git(origin, "rev-parse", "HEAD~1:old.env").strip()
    git(clone, "cat-file", "blob", old_blob)  # the partial clone fetches it on demand
    second = cached_audit()
    assert [loc["path"] for f in second["findings"] for loc in f["locations"]] == ["old.env"]


def test_a_treeless_clone_audits_what_it_holds_in_one_note(tmp_path):
    """`git clone --filter=tree:0` (what CI checkouts often are): old commits' trees were never
    fetched, so their changes cannot be listed; the blobs present (HEAD's) are still audited,
    and the missing history is one note, not one per commit."""
    origin = make_repo(tmp_path / "origin")
    for index in range(6):
        (origin / f"file{index}.txt").write_text(f"version {index}\n")
        commit_all(origin, f"commit {index}")
    (origin / "app.env").write_text(secret_line())
    commit_all(origin, "add the key")
    git(origin, "config", "uploadpack.allowFilter", "true")
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=tree:0", f"file://{origin}", str(clone))
    result = audit(clone)
    assert [f.path for f in result.findings] == ["app.env"]
    assert result.stats.missing_objects >= 1
    assert [w for w in result.warnings if w.startswith("partial clone:")] != []
    assert not any(w.startswith("commit ") for w in result.warnings), result.warnings


def _object_file(repo: Path, oid: str) -> Path:
    return repo / ".git" / "objects" / oid[:2] / oid[2:]


def _damaged_history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Three commits, each adding a secret in its own folder (loose objects, so one can go)."""
    repo = make_repo(tmp_path / "repo")
    for folder in ("first", "second", "third"):
        (repo / folder).mkdir()
        (repo / folder / "app.env").write_text(secret_line())
        commit_all(repo, folder)
    oids = {
        "first_commit": git(repo, "rev-parse", "HEAD~2").strip(),
        "second_tree": git(repo, "rev-parse", "HEAD~1:second").strip(),
        "third_blob": git(repo, "rev-parse", "HEAD:third/app.env").strip(),
    }
    return repo, oids


def test_missing_tree_is_named_and_the_rest_audited(tmp_path):
    repo, oids = _damaged_history(tmp_path)
    _object_file(repo, oids["second_tree"]).unlink()
    result = audit(repo)
    assert {f.path for f in result.findings} == {"first/app.env", "third/app.env"}
    assert any(f"missing tree {oids['second_tree'][:12]} (referenced from tree" in w for w in result.warnings)


def test_missing_commit_is_named_and_the_rest_audited(tmp_path):
    repo, oids = _damaged_history(tmp_path)
    _object_file(repo, oids["first_commit"]).unlink()
    result = audit(repo)
    assert {"second/app.env", "third/app.env"} <= {f.path for f in result.findings}
    assert any(f"missing commit {oids['first_commit'][:12]} (parent of commit" in w for w in result.warnings)
    third = next(f for f in result.findings if f.path == "third/app.env")
    assert third.locations[0].commit  # attribution still works past the damage


def test_truncated_blob_is_named_and_the_rest_audited(tmp_path):
    repo, oids = _damaged_history(tmp_path)
    damaged = _object_file(repo, oids["third_blob"])
    content = damaged.read_bytes()
    damaged.chmod(0o644)
    damaged.write_bytes(content[: len(content) // 2])
    result = audit(repo)
    assert {f.path for f in result.findings} == {"first/app.env", "second/app.env"}
    assert result.stats.missing_objects == 1
    assert any(oids["third_blob"][:12] in w for w in result.warnings)


def _branch_at_a_missing_commit(tmp_path: Path) -> tuple[Path, str]:
    """`main` whole with one secret; branch `side` one commit ahead, whose commit is then lost."""
    repo, _ = _damaged_history(tmp_path)
    git(repo, "checkout", "-qb", "side")
    (repo / "side.env").write_text(secret_line())
    commit_all(repo, "side")
    lost = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-")
    _object_file(repo, lost).unlink()
    return repo, lost


def test_ref_pointing_at_a_missing_commit_is_named_and_the_rest_audited(tmp_path):
    repo, lost = _branch_at_a_missing_commit(tmp_path)
    result = audit(repo)
    assert {f.path for f in result.findings} == {"first/app.env", "second/app.env", "third/app.env"}
    assert any(f"ref refs/heads/side points at missing object {lost[:12]}" in w for w in result.warnings)
    assert result.stats.missing_objects >= 1


def test_head_at_a_missing_commit_is_named_and_the_rest_audited(tmp_path):
    repo, lost = _branch_at_a_missing_commit(tmp_path)
    git(repo, "symbolic-ref", "HEAD", "refs/heads/side")
    result = audit(repo)
    assert {"first/app.env", "second/app.env", "third/app.env"} <= {f.path for f in result.findings}
    assert any(w.startswith("ref HEAD points at missing object") for w in result.warnings)
