"""`rotator scan --staged`: exactly what the commit adds, with the lines it has in the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit import git, make_repo, random_token, resend_key

from rotator.config import ScanSettings
from rotator.entry import parse_staged_invocation
from rotator.redact import secret_sha256
from rotator.scan.scan_staged import scan_staged


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / "app.env").write_text("A=1\nB=2\nC=3\n")
    (repo / "old.txt").write_text("keep me\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    return repo


def _staged(repo: Path, files: list[str] | None = None):
    return scan_staged(files or [], ScanSettings(), cwd=repo)


def test_added_lines_of_a_modified_file_with_file_line_numbers(tmp_path):
    repo = _repo(tmp_path)
    key = resend_key()
    (repo / "app.env").write_text(f"A=1\nB=2\nRESEND_API_KEY={key}\nC=3\n")
    git(repo, "add", "app.env")
    [finding] = _staged(repo).findings
    assert finding.path == "app.env" and finding.locations[0].line == 3
    assert finding.state == "staged" and finding.secret_sha256 == secret_sha256(key)


def test_index_content_not_the_working_tree(tmp_path):
    repo = _repo(tmp_path)
    staged_value, unstaged_value = random_token(30), random_token(30)
    (repo / "app.env").write_text(f"A=1\nAPI_TOKEN={staged_value}\n")
    git(repo, "add", "app.env")
    (repo / "app.env").write_text(f"A=1\nAPI_TOKEN={staged_value}\nDB_PASSWORD={unstaged_value}\n")
    hashes = {f.secret_sha256 for f in _staged(repo).findings}
    assert hashes == {secret_sha256(staged_value)}


def test_existing_secret_in_untouched_lines_is_not_reported(tmp_path):
    repo = make_repo(tmp_path / "r")
    (repo / "a.env").write_text(f"API_TOKEN={random_token(30)}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "legacy secret")
    (repo / "a.env").write_text((repo / "a.env").read_text() + "LOG_LEVEL=info\n")
    git(repo, "add", ".")
    assert _staged(repo).findings == []


def test_new_and_renamed_files(tmp_path):
    repo = _repo(tmp_path)
    new_value, renamed_value = random_token(30), random_token(30)
    (repo / "docs").mkdir()
    (repo / "docs" / "RUNBOOK.md").write_text(f"| `JWT_SECRET` | `{new_value}` |\n")
    git(repo, "mv", "old.txt", "moved.txt")
    (repo / "moved.txt").write_text(f"keep me\nAPI_TOKEN={renamed_value}\n")
    git(repo, "add", "-A")
    found = {f.secret_sha256: (f.path, f.locations[0].line) for f in _staged(repo).findings}
    assert found == {secret_sha256(new_value): ("docs/RUNBOOK.md", 1),
                     secret_sha256(renamed_value): ("moved.txt", 2)}


def test_named_files_with_nothing_staged_are_scanned_whole(tmp_path):
    """`pre-commit run --all-files` passes every file and stages nothing."""
    repo = make_repo(tmp_path / "r")
    value = random_token(30)
    (repo / "a.env").write_text(f"X=1\nAPI_TOKEN={value}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    result = _staged(repo, ["a.env"])
    assert [(f.path, f.locations[0].line) for f in result.findings] == [("a.env", 2)]
    assert result.stats.files == 1


def test_staged_outside_a_repository_is_a_clear_error(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", "--staged"], cwd=tmp_path,
                               capture_output=True, text=True)
    assert completed.returncode == 2 and "needs a git work tree" in completed.stderr


def test_hook_parser_takes_the_hook_invocation_and_leaves_the_rest_to_click():
    invocation = parse_staged_invocation(["scan", "--staged", "-f", "json", "--", "a.py", "-b.py"])
    assert invocation is not None and invocation.files == ["a.py", "-b.py"] and invocation.format == "json"
    assert parse_staged_invocation(["scan", "--staged", "--help"]) is None
    assert parse_staged_invocation(["scan", "src"]) is None
    assert parse_staged_invocation(["audit"]) is None


def test_hook_exit_codes_and_redaction(tmp_path):
    repo = _repo(tmp_path)
    key = resend_key()
    (repo / "app.env").write_text(f"RESEND_API_KEY={key}\n")
    git(repo, "add", ".")
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", "--staged"], cwd=repo,
                               capture_output=True, text=True)
    assert completed.returncode == 1
    assert "app.env:1" in completed.stdout and key not in completed.stdout + completed.stderr
    git(repo, "commit", "-qm", "x")
    clean = subprocess.run([sys.executable, "-m", "rotator", "scan", "--staged"], cwd=repo,
                           capture_output=True, text=True)
    assert clean.returncode == 0


def test_odd_staged_file_names_reach_the_report_exactly(tmp_path):
    """Names git quotes or pads in patch headers (spaces get a trailing tab in `+++ b/…`; tabs,
    newlines, quotes and non-ASCII are C-quoted) come from the NUL-separated raw records."""
    repo = _repo(tmp_path)
    names = ["sp ace.env", "café/ünïcode.env", "tab\there.env", "new\nline.env", 'quote"d.env', "plain.env"]
    hashes = {}
    for name in names:
        (repo / name).parent.mkdir(exist_ok=True)
        value = random_token(28)
        (repo / name).write_text(f"A=1\nDB_PASSWORD={value}\n")
        hashes[name] = secret_sha256(value)
    git(repo, "mv", "old.txt", "renamed file.txt")
    git(repo, "add", "-A")
    found = {f.path: f for f in _staged(repo).findings}
    assert sorted(found) == sorted(names)
    assert all(found[name].secret_sha256 == hashes[name] and found[name].locations[0].line == 2
               for name in names)
    # named files (pre-commit passes paths) limit the diff without losing the exact names
    assert {f.path for f in _staged(repo, ["sp ace.env", "tab\there.env"]).findings} == {
        "sp ace.env", "tab\there.env"}
