"""Libraries in place of hand-written parts: rich draws the audit's progress bar (and is never
imported when no bar is shown), libpq makes SCRAM verifiers (tests/platforms/test_postgres.py),
and every declared runtime dependency is one the code imports."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from testkit import git, make_repo, resend_key

PROJECT = Path(__file__).resolve().parents[1]
# distribution name -> the module it is imported as
IMPORT_NAMES = {"detect-secrets": "detect_secrets", "graphql-core": "graphql", "psycopg": "psycopg"}


def _declared() -> list[str]:
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    return [re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in dependencies]


def test_every_runtime_dependency_is_imported_by_the_code():
    source = "\n".join(p.read_text("utf-8") for folder in ("rotator", "plugins")
                       for p in (PROJECT / folder).rglob("*.py"))
    for name in _declared():
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        # wordfreq's data files are read without importing it: `find_spec` locates the package
        used = rf"^\s*(import|from) {module}\b|find_spec\(\"{module}\"\)"
        assert re.search(used, source, re.M), f"{name} is declared but never imported"
    assert "gitpython" not in _declared()  # history is read with the git CLI (git cat-file --batch)


def test_no_bar_no_rich_import():
    """The hook path and an audit that shows no bar never import rich (hook latency)."""
    code = ("import sys, rotator.entry, rotator.scan.scan_staged, rotator.scan.audit, rotator.cli;"
            "print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_audit_on_a_terminal_draws_a_rich_progress_bar_and_clears_it(tmp_path):
    repo = make_repo(tmp_path / "app")
    key = resend_key()
    (repo / "deploy.md").write_text(f"RESEND_API_KEY={key}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "rotator", "audit", str(repo), "--no-cache", "--no-worktree"],
            stdout=subprocess.PIPE, stderr=terminal, text=True,
            env={**os.environ, "ROTATOR_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "120"})
        os.close(terminal)
        stdout, _ = process.communicate(timeout=120)
        drawn = _read_all(controller).decode("utf-8", "replace")
    finally:
        os.close(controller)
    assert process.returncode == 1, stdout + drawn
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert re.search(r"1/1 blobs .*MB/s\s+ETA \d+ s", plain), repr(drawn)
    assert drawn.rstrip("\r\n").endswith("\x1b[2K"), "the bar is erased when the audit ends"
    assert key not in drawn and key not in stdout
