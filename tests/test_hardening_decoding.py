"""Decoding by content and honest counts: stray NULs, UTF-16/32 with and without a BOM, a
Latin-1 file starting with `FF FE`, unreadable files and folders named, --strict (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import random_token

from rotator.config import ScanSettings
from rotator.redact import secret_sha256
from rotator.scan.scan_files import ScanOptions, scan_paths


def _text(token: str) -> str:
    return f"# Пароль базы данных — 数据库密码\nDB_PASSWORD={token}\n"


ENCODINGS = {
    "stray-nul.env": lambda t: f"a=1\x00\nDB_PASSWORD={t}\n".encode(),
    "utf16le-no-bom.env": lambda t: _text(t).encode("utf-16-le"),
    "utf16be-no-bom.env": lambda t: _text(t).encode("utf-16-be"),
    "utf16be-bom.env": lambda t: ("\ufeff" + _text(t)).encode("utf-16-be"),
    "utf32le-bom.env": lambda t: ("\ufeff" + _text(t)).encode("utf-32-le"),
    "utf32be-no-bom.env": lambda t: _text(t).encode("utf-32-be"),
    "ff-fe-latin1.env": lambda t: b"\xff\xfe caf\xe9\n" + f"DB_PASSWORD={t}\n".encode("latin-1"),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_text_is_told_by_content(tmp_path, name):
    token = random_token(24)
    (tmp_path / name).write_bytes(ENCODINGS[name](token))
    result = scan_paths([tmp_path], ScanSettings(), ScanOptions(jobs=1))
    assert [f.secret_sha256 for f in result.findings] == [secret_sha256(token.encode())]


def _unreadable_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "closed").mkdir(parents=True)
    (tree / "closed" / "inside.env").write_text(f"DB_PASSWORD={random_token(24)}\n")
    (tree / "locked.env").write_text(f"DB_PASSWORD={random_token(24)}\n")
    (tree / "closed").chmod(0)
    (tree / "locked.env").chmod(0)
    return tree


def _without_root_powers() -> list[str]:
    """As root the permission bits would not stop a read: drop the capabilities that bypass
    them (setpriv, util-linux) so the folder and file are unreadable for real."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_files_and_folders_are_named_and_strict_fails(tmp_path):
    tree = _unreadable_tree(tmp_path)
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(tmp_path / "cache")}
    try:
        runs = {}
        for flag in ([], ["--strict"]):
            runs[bool(flag)] = subprocess.run(
                [*_without_root_powers(), sys.executable, "-m", "rotator", "scan", str(tree), "--no-color", *flag],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    finally:
        (tree / "closed").chmod(0o755)
        (tree / "locked.env").chmod(0o644)
    lenient, strict = runs[False], runs[True]
    assert lenient.returncode == 0, lenient.stderr
    assert "2 unreadable file(s) or folder(s) not scanned" in lenient.stdout
    assert "locked.env" in lenient.stdout and "closed/" in lenient.stdout
    assert strict.returncode == 2 and "incomplete" in strict.stderr
