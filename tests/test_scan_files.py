"""`rotator scan` over files: .gitignore, committed-vs-local status, binaries, sizes, encodings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit import git, make_repo, random_token, resend_key

from rotator.config import ScanSettings
from rotator.scan.scan_files import ScanOptions, scan_paths


def _scan(paths, **settings):
    options = ScanOptions(all_files=settings.pop("all_files", False), jobs=settings.pop("jobs", 1))
    return scan_paths([Path(p) for p in paths], ScanSettings(**settings), options)


def _states(result):
    return {f.path: f.state for f in result.findings}


def test_ignored_env_file_is_skipped_by_default_and_local_only_when_named(tmp_path):
    repo = make_repo(tmp_path / "app")
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text(f"RESEND_API_KEY={resend_key()}\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "init")
    assert _scan([repo]).findings == []
    named = _scan([repo / ".env"])
    assert _states(named) == {".env": "local"}
    assert named.leaks == []
    everything = _scan([repo], all_files=True)
    assert _states(everything) == {".env": "local"}


def test_states_committed_uncommitted_untracked(tmp_path):
    repo = make_repo(tmp_path / "app")
    committed, added_later, untracked = (random_token(30) for _ in range(3))
    (repo / "settings.env").write_text(f"API_TOKEN={committed}\n")
    (repo / "other.env").write_text("LOG_LEVEL=info\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    (repo / "other.env").write_text(f"LOG_LEVEL=info\nDB_PASSWORD={added_later}\n")
    (repo / "new.env").write_text(f"STRIPE_SECRET={untracked}\n")
    # a committed secret stays committed even when its file has local edits
    (repo / "settings.env").write_text(f"# edited\nAPI_TOKEN={committed}\n")
    assert _states(_scan([repo])) == {
        "settings.env": "committed",
        "other.env": "uncommitted",
        "new.env": "untracked",
    }


def test_binary_and_oversized_files_are_skipped_with_a_count(tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + f"API_TOKEN={random_token()}".encode())
    (tmp_path / "big.env").write_text(f"API_TOKEN={random_token()}\n" + "x" * 5000)
    (tmp_path / "small.env").write_text(f"API_TOKEN={random_token()}\n")
    result = _scan([tmp_path], max_file_size=1000)
    assert [f.path.rsplit("/", 1)[-1] for f in result.findings] == ["small.env"]
    assert result.stats.skipped_binary == 1
    assert result.stats.skipped_large == 1
    assert result.stats.files == 1


def test_utf16_and_invalid_utf8_files_are_scanned(tmp_path):
    first, second = random_token(30), random_token(30)
    (tmp_path / "windows.env").write_bytes(f"\ufeffAPI_TOKEN={first}\r\n".encode("utf-16-le"))
    (tmp_path / "latin.env").write_bytes(b"NAME=caf\xe9\n" + f"DB_PASSWORD={second}\n".encode())
    result = _scan([tmp_path])
    assert sorted(f.locations[0].line for f in result.findings) == [1, 2]
    assert len(result.findings) == 2


def test_minified_one_line_bundle(tmp_path):
    value = random_token(40)
    bundle = "var a=1;" * 20000 + f'var cfg={{apiKey:"{value}"}};' + "var b=2;" * 20000
    (tmp_path / "app.min.js").write_text(bundle)
    result = _scan([tmp_path])
    assert len(result.findings) == 1 and result.findings[0].locations[0].line == 1


def test_noisy_directories_are_skipped_outside_git_unless_all_files(tmp_path):
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "x.env").write_text(f"API_TOKEN={random_token()}\n")
    assert _scan([tmp_path]).findings == []
    assert len(_scan([tmp_path], all_files=True).findings) == 1


def test_parallel_scan_finds_the_same(tmp_path):
    values = [random_token(30) for _ in range(40)]
    for i, value in enumerate(values):
        (tmp_path / f"f{i}.env").write_text(("# filler\n" * 30000) + f"API_TOKEN={value}\n")
    serial = _scan([tmp_path], jobs=1)
    parallel = _scan([tmp_path], jobs=2)
    assert len(serial.findings) == 40
    assert sorted(f.fingerprint for f in serial.findings) == sorted(f.fingerprint for f in parallel.findings)


def test_same_secret_in_two_files_is_two_findings_with_one_hash(tmp_path):
    value = random_token(32)
    (tmp_path / "a.env").write_text(f"API_TOKEN={value}\nAPI_TOKEN={value}\n")
    (tmp_path / "b.env").write_text(f"API_TOKEN={value}\n")
    result = _scan([tmp_path])
    assert len(result.findings) == 2
    assert len({f.secret_sha256 for f in result.findings}) == 1
    assert sorted(len(f.locations) for f in result.findings) == [1, 2]


def test_rotators_own_cache_inside_the_tree_is_not_reported(tmp_path, monkeypatch):
    """ROTATOR_CACHE_DIR=./.cache: the compiled rules quote the families' examples."""
    cache = tmp_path / ".cache"
    monkeypatch.setenv("ROTATOR_CACHE_DIR", str(cache))
    (tmp_path / "app.env").write_text("DEBUG=1\n")
    first = subprocess.run([sys.executable, "-m", "rotator", "scan", "."], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert any(cache.glob("rules-*.json"))  # the cache is there, and was walked past
    again = subprocess.run([sys.executable, "-m", "rotator", "scan", "."], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout
