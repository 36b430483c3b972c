"""Output safety: terminal escapes in names, paths and messages are shown escaped, and every
file rotator writes (cache, reports) is the user's alone (issue 12)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from testkit import make_repo, random_token

from rotator.scan.report.text import render_text

HOSTILE_NAME = "Mallory\x1b[2K\x1b[1A"
HOSTILE_FILE = "conf\x1b]0;owned\x07\nfake.env"


def run_rotator(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=300)


def hostile_repo(path: Path) -> Path:
    """A repository whose committer and file name carry terminal escapes, holding a secret."""
    repo = make_repo(path)
    (repo / HOSTILE_FILE).write_text(f'DB_PASSWORD="{random_token(24)}"\n')
    env = {**os.environ, "GIT_AUTHOR_NAME": HOSTILE_NAME, "GIT_AUTHOR_EMAIL": "m@example.com",
           "GIT_COMMITTER_NAME": HOSTILE_NAME, "GIT_COMMITTER_EMAIL": "m@example.com",
           "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["add", "-A"], ["commit", "-qm", "add \x1b[31mconfig"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return repo


def test_audit_text_escapes_names_and_paths(tmp_path):
    repo = hostile_repo(tmp_path / "repo")
    completed = run_rotator(["audit", str(repo), "--no-cache", "--no-color"], tmp_path, tmp_path / "cache")
    assert completed.returncode == 1, completed.stderr
    out = completed.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert "Mallory\\x1b[2K\\x1b[1A" in out
    assert "conf\\x1b]0;owned\\x07\\x0afake.env" in out


def test_scan_text_escapes_paths(tmp_path):
    repo = hostile_repo(tmp_path / "repo")
    completed = run_rotator(["scan", str(repo), "--no-color"], tmp_path, tmp_path / "cache")
    assert completed.returncode == 1, completed.stderr
    out = completed.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07\\x0afake.env" in out


def test_coloured_report_keeps_its_own_styles_only(tmp_path):
    repo = hostile_repo(tmp_path / "repo")
    from rotator.config import ScanSettings
    from rotator.scan.audit import AuditOptions, audit_repository

    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    text = render_text(result, colour=True, verbose=True)
    assert "\x1b[1m" in text  # the report's own bold
    assert "\x1b[2K" not in text and "\x1b[1A" not in text and "\x07" not in text
    assert all(line.count("\n") == 0 for line in text.splitlines())


def _modes(root: Path) -> dict[str, int]:
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory) / name
            found[str(path)] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_cache_and_reports_are_private(tmp_path):
    repo = hostile_repo(tmp_path / "repo")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)  # as an older version left it
    report = tmp_path / "out" / "report.json"
    for args in (["audit", str(repo), "-f", "json", "-o", str(report)], ["scan", str(repo)]):
        completed = run_rotator(args, tmp_path, cache)
        assert completed.returncode == 1, completed.stderr
    assert json.loads(report.read_text())["findings"]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    modes = _modes(cache)
    assert len(modes) > 3
    loose = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o700 if Path(path).is_dir() else 0o600)}
    assert not loose


def test_inventory_text_escapes_names_read_from_platforms_and_reports():
    """A service, environment or variable name on a platform, and a leaked file's path, reach
    `locate` and `check` text escaped: the platform's names are as untrusted as a committer's."""
    from rotator.inventory.check import Problem, render_check_text
    from rotator.inventory.collect import Inventory, LiveVariable
    from rotator.inventory.locate import LocateResult, render_locate_text

    holder = LiveVariable("railway", "p", HOSTILE_NAME, "production\x1b[8m", "API\x9bKEY", "0" * 64)
    finding = {"name": "API_KEY", "kind": "generic", "redacted": "ab…yz",
               "locations": [{"path": HOSTILE_FILE, "date": "2026-12-01T00:00:00Z"}]}
    located = render_locate_text(LocateResult(report={}, live=[(finding, [holder])], unreadable=[holder]))
    checked = render_check_text([Problem("misplaced", f"{HOSTILE_NAME} holds API_KEY")],
                                Inventory(variables=[holder]))
    for text in (located, checked):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
        assert "\\x1b[2K" in text
    assert "conf\\x1b]0;owned\\x07\\x0afake.env" in located  # a newline in a name stays on its line


def test_rotation_printers_escape_and_redact():
    from rotator.rotate.commands import _redacting

    written: list[str] = []
    _redacting(written.append)(f"service {HOSTILE_NAME}: postgres://u:hunter2@db:5432/x\nnext line")
    [text] = written
    assert "\x1b" not in text and "hunter2" not in text and text.count("\n") == 1
