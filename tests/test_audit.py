"""`rotator audit` on real repositories built here: every ref, every place a secret can hide
in history, attribution, robustness, and the incremental cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import git, make_repo, random_base64, random_token, resend_key

from rotator.config import ScanSettings
from rotator.redact import secret_sha256
from rotator.scan.audit import AuditOptions, audit_repository


def _audit(repo: Path, **options) -> object:
    settings = ScanSettings(engine=options.pop("engine", "auto"))
    return audit_repository(repo, settings, AuditOptions(**{"use_cache": False, **options}))


def _by_hash(result) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in result.findings:
        found.setdefault(finding.secret_sha256, []).append(finding)
    return found


def _commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, "--allow-empty")
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory):
    """A repository with a secret in each hard-to-see place, and the values planted."""
    repo = make_repo(tmp_path_factory.mktemp("history") / "app")
    planted = {
        "deleted": resend_key(),
        "side_branch": random_token(32),
        "tag_only": random_token(32),
        "stash": random_token(32),
        "stash_untracked": random_token(32),
        "merge_resolution": random_base64(),
        "head": random_base64(),
        "renamed": random_token(30),
        "pull_ref": random_token(30),
    }
    first = _commit(repo, "init", {"app.py": "print('hi')\n", "config.txt": "mode = a\n"})
    _commit(repo, "docs", {"docs/RUNBOOK.md": f"| `RESEND_API_KEY` | `{planted['deleted']}` |\n"})
    _commit(repo, "rename", {"old.env": f"API_TOKEN={planted['renamed']}\n"})
    git(repo, "mv", "old.env", "new.env")
    _commit(repo, "moved")
    (repo / "docs" / "RUNBOOK.md").unlink()
    removal = _commit(repo, "remove the runbook")
    # a side branch
    git(repo, "checkout", "-qb", "feature")
    _commit(repo, "side", {"side.env": f"DB_PASSWORD={planted['side_branch']}\n", "config.txt": "mode = b\n"})
    # a commit only a tag reaches
    git(repo, "checkout", "-q", "--detach", first)
    _commit(repo, "tagged", {"tag.env": f"STRIPE_SECRET={planted['tag_only']}\n"})
    git(repo, "tag", "-a", "v0.1-hotfix", "-m", "hotfix")
    # a pull-request ref
    _commit(repo, "pr", {"pr.env": f"SENTRY_AUTH_TOKEN={planted['pull_ref']}\n"})
    git(repo, "update-ref", "refs/pull/7/head", "HEAD")
    git(repo, "checkout", "-q", "main")
    # a merge whose resolution introduces a secret neither parent had
    _commit(repo, "main side", {"config.txt": "mode = c\n"})
    merge = subprocess.run(["git", "merge", "-q", "feature", "-m", "merge"], cwd=repo,
                           capture_output=True, text=True, env=_git_env(repo))
    assert merge.returncode != 0  # config.txt conflicts
    (repo / "config.txt").write_text(f"mode = c\nJWT_SECRET={planted['merge_resolution']}\n")
    git(repo, "add", "config.txt")
    git(repo, "commit", "-qm", "merge feature")
    _commit(repo, "head", {"settings.env": f"NEXTAUTH_SECRET={planted['head']}\n"})
    # the stash: a staged change and an untracked file
    (repo / "app.py").write_text(f"TOKEN = '{planted['stash']}'\n")
    (repo / "scratch.env").write_text(f"API_TOKEN={planted['stash_untracked']}\n")
    git(repo, "stash", "push", "-u", "-q")
    return repo, planted, removal


def _git_env(repo: Path) -> dict[str, str]:
    return {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
            "HOME": str(repo), "PATH": "/usr/bin:/bin:/usr/local/bin"}


def test_every_planted_secret_is_found(history_repo):
    repo, planted, _ = history_repo
    found = _by_hash(_audit(repo))
    for place, value in planted.items():
        assert secret_sha256(value) in found, f"secret planted in {place} was missed"


def test_attribution_of_a_deleted_file(history_repo):
    repo, planted, removal = history_repo
    [finding] = _by_hash(_audit(repo))[secret_sha256(planted["deleted"])]
    assert finding.path == "docs/RUNBOOK.md" and finding.rule == "resend-api-key"
    assert finding.in_head is False
    assert finding.removed_in == removal
    assert finding.locations[0].author == "Ada" and finding.locations[0].line == 1
    assert "refs/heads/main" in finding.reachable_from


def test_rename_reports_both_paths(history_repo):
    repo, planted, _ = history_repo
    findings = _by_hash(_audit(repo))[secret_sha256(planted["renamed"])]
    assert sorted(f.path for f in findings) == ["new.env", "old.env"]
    assert {f.path: f.in_head for f in findings} == {"old.env": False, "new.env": True}


def test_merge_resolution_is_attributed_to_the_merge(history_repo):
    repo, planted, _ = history_repo
    [finding] = _by_hash(_audit(repo))[secret_sha256(planted["merge_resolution"])]
    commit = finding.first_commit
    parents = git(repo, "rev-list", "--parents", "-n1", commit).split()[1:]
    assert len(parents) == 2 and finding.in_head


def test_refs_that_reach_each_secret(history_repo):
    repo, planted, _ = history_repo
    found = _by_hash(_audit(repo))
    [tag_only] = found[secret_sha256(planted["tag_only"])]
    assert tag_only.reachable_from == ["refs/pull/7/head", "refs/tags/v0.1-hotfix"]
    [stashed] = found[secret_sha256(planted["stash"])]
    assert stashed.reachable_from == ["refs/stash"]
    [pull] = found[secret_sha256(planted["pull_ref"])]
    assert pull.reachable_from == ["refs/pull/7/head"]


def test_bare_mirror_gives_the_same_findings(history_repo, tmp_path):
    repo, planted, _ = history_repo
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(repo), str(mirror)], check=True)
    found = _by_hash(_audit(mirror))
    for place, value in planted.items():  # --mirror copies every ref, refs/stash included
        assert secret_sha256(value) in found, place


def test_working_tree_changes_are_part_of_the_audit(tmp_path):
    repo = make_repo(tmp_path / "wt")
    _commit(repo, "init", {"a.txt": "hello\n"})
    uncommitted, untracked = random_token(30), random_token(30)
    (repo / "a.txt").write_text(f"hello\nAPI_TOKEN={uncommitted}\n")
    (repo / "b.env").write_text(f"DB_PASSWORD={untracked}\n")
    result = _audit(repo)
    states = {f.secret_sha256: f.state for f in result.findings}
    assert states == {secret_sha256(uncommitted): "uncommitted", secret_sha256(untracked): "untracked"}
    assert _audit(repo, include_worktree=False).findings == []


def test_engines_give_identical_findings(history_repo):
    repo, _, _ = history_repo
    key = lambda r: sorted((f.fingerprint, tuple((loc.commit, loc.line) for loc in f.locations)) for f in r.findings)  # noqa: E731
    assert key(_audit(repo, engine="hyperscan")) == key(_audit(repo, engine="python"))


def test_serial_and_parallel_scans_agree(history_repo):
    repo, _, _ = history_repo
    key = lambda r: sorted(f.fingerprint for f in r.findings)  # noqa: E731
    assert key(_audit(repo, jobs=1)) == key(_audit(repo, jobs=2))


def test_incremental_cache_scans_only_new_blobs(tmp_path):
    repo = make_repo(tmp_path / "inc")
    _commit(repo, "one", {f"f{i}.txt": f"file {i}\n" for i in range(20)})
    first = _audit(repo, use_cache=True)
    assert first.stats.cached_blobs == 0 and first.stats.blobs == 20
    again = _audit(repo, use_cache=True)
    assert again.stats.cached_blobs == 20
    value = random_token(30)
    _commit(repo, "two", {"new.env": f"API_TOKEN={value}\n"})
    third = _audit(repo, use_cache=True)
    assert third.stats.cached_blobs == 20 and third.stats.blobs == 21
    assert [f.secret_sha256 for f in third.findings] == [secret_sha256(value)]


def test_cache_holds_no_secret_values(tmp_path, isolated_cache):
    repo = make_repo(tmp_path / "leakcheck")
    canary = f"CANARY{random_token(26)}"
    _commit(repo, "one", {"a.env": f"API_TOKEN={canary}\n"})
    _audit(repo, use_cache=True)
    for path in Path(isolated_cache).rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
            assert canary[6:20].encode() not in path.read_bytes(), path


def test_binary_huge_and_odd_encodings(tmp_path):
    repo = make_repo(tmp_path / "odd")
    utf16, crlf, latin = random_token(30), random_token(30), random_token(30)
    (repo / "win.env").write_bytes(f"\ufeffAPI_TOKEN={utf16}\r\n".encode("utf-16-le"))
    (repo / "crlf.env").write_bytes(f"A=1\r\nDB_PASSWORD={crlf}\r\n".encode())
    (repo / "latin.txt").write_bytes(b"caf\xe9\n" + f"API_TOKEN={latin}\n".encode())
    (repo / "blob.bin").write_bytes(b"\x00\x01" * 100 + f"API_TOKEN={random_token()}".encode())
    (repo / "huge.env").write_text(f"API_TOKEN={random_token()}\n" + "#" * 5000)
    _commit(repo, "odd files")
    result = audit_repository(repo, ScanSettings(max_file_size=4096), AuditOptions(use_cache=False))
    assert {f.secret_sha256 for f in result.findings} == {secret_sha256(v) for v in (utf16, crlf, latin)}
    assert result.stats.skipped_binary == 1 and result.stats.skipped_large == 1


def test_shallow_clone_says_what_it_could_not_see(history_repo, tmp_path):
    repo, _, _ = history_repo
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    result = _audit(shallow)
    assert any("shallow clone" in w for w in result.warnings)


def test_missing_objects_are_counted_not_fatal(tmp_path):
    repo = make_repo(tmp_path / "broken")
    value = random_token(30)
    _commit(repo, "one", {"a.env": f"API_TOKEN={value}\n", "b.txt": "will vanish\n"})
    blob = git(repo, "rev-parse", "HEAD:b.txt").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = _audit(repo, include_worktree=False)
    assert result.stats.missing_objects == 1
    assert [f.secret_sha256 for f in result.findings] == [secret_sha256(value)]
    assert any("missing" in w for w in result.warnings)


def test_not_a_repository_is_a_clear_error(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "rotator", "audit", str(tmp_path)],
                               capture_output=True, text=True)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ") and "not a git repository" in completed.stderr


def test_cli_story_and_json(history_repo):
    repo, planted, _ = history_repo
    text = subprocess.run([sys.executable, "-m", "rotator", "audit", str(repo), "--no-cache"],
                          capture_output=True, text=True)
    assert text.returncode == 1
    assert "RESEND_API_KEY leaked" in text.stdout
    assert "rewriting history is not enough" in text.stdout
    for value in planted.values():
        assert value not in text.stdout + text.stderr
    report = json.loads(subprocess.run(
        [sys.executable, "-m", "rotator", "audit", str(repo), "--no-cache", "-f", "json"],
        capture_output=True, text=True).stdout)
    assert report["scan"]["mode"] == "audit" and report["scan"]["commits"] >= 10
    assert all(f["first_commit"] for f in report["findings"] if f["state"] == "committed")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is required")
def test_git_worktree_is_audited(history_repo, tmp_path):
    repo, planted, _ = history_repo
    other = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(other), "feature")
    try:
        found = _by_hash(_audit(other))
        assert secret_sha256(planted["side_branch"]) in found
    finally:
        git(repo, "worktree", "remove", "--force", str(other))


def test_progress_is_silent_without_a_terminal(history_repo):
    repo, _, _ = history_repo
    completed = subprocess.run([sys.executable, "-m", "rotator", "audit", str(repo), "--no-cache"],
                               capture_output=True, text=True)
    assert "\r" not in completed.stderr and "blobs" not in completed.stderr


def test_progress_line_shows_blobs_bytes_rate_and_eta():
    import io

    from rotator.scan.progress import Progress

    stream = io.StringIO()
    progress = Progress(10, 10_000_000, enabled=True, stream=stream)
    progress.advance(5, 5_000_000)
    progress.close()
    text = stream.getvalue()
    assert "5/10 blobs" in text and "MB/s" in text and "ETA" in text


def test_submodules_are_not_recursed(tmp_path):
    inner = make_repo(tmp_path / "inner")
    inner_secret = random_token(30)
    _commit(inner, "inner", {"inner.env": f"API_TOKEN={inner_secret}\n"})
    outer = make_repo(tmp_path / "outer")
    _commit(outer, "init", {"README.md": "outer\n"})
    git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "vendor/inner")
    git(outer, "commit", "-qm", "add submodule")
    result = _audit(outer)
    assert secret_sha256(inner_secret) not in {f.secret_sha256 for f in result.findings}
    assert result.stats.commits == 2
