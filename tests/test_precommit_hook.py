"""The hook through the real pre-commit client (`pre-commit try-repo <this project>`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import git, make_repo, resend_key

PROJECT = Path(__file__).resolve().parents[1]

# The pre-commit installed with the tests (pyproject [test]) next to this interpreter, not
# whichever one PATH finds (or none: a skip would hide that the hook was never tried).
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or "pre-commit is missing"


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "ROTATOR_CACHE_DIR": str(home / "rotator-cache")}
    env.pop("PRE_COMMIT", None)
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(PROJECT), "rotator", "--verbose", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )


def test_commit_with_a_leaked_key_fails_and_a_clean_one_passes(tmp_path, pre_commit_home):
    repo = make_repo(tmp_path / "app")
    (repo / "README.md").write_text("# app\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")

    key = resend_key()
    (repo / "notes.md").write_text(f"# deploy\n\nRESEND_API_KEY={key}\n")
    git(repo, "add", "notes.md")
    leaked = _try_repo(repo, pre_commit_home)
    output = leaked.stdout + leaked.stderr
    assert leaked.returncode == 1, output
    assert "notes.md:3" in output and f"{key[:4]}…{key[-4:]}" in output
    assert key not in output

    git(repo, "reset", "-q")
    (repo / "notes.md").write_text("# deploy\n\nRESEND_API_KEY=${{ secrets.RESEND_API_KEY }}\n")
    git(repo, "add", "notes.md")
    clean = _try_repo(repo, pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_all_files_run_scans_the_files_it_is_given(tmp_path, pre_commit_home):
    """`pre-commit run --all-files` stages nothing: the hook must still scan every file."""
    repo = make_repo(tmp_path / "app")
    key = resend_key()
    (repo / "config.env").write_text(f"RESEND_API_KEY={key}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    completed = _try_repo(repo, pre_commit_home, "--all-files")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "config.env:1" in output and "scanned 1 file(s)" in output
