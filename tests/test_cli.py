"""The command line as a user meets it: exit codes, formats, config errors, and a canary
secret that must never appear whole in any output or error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from testkit import random_token, resend_key

from rotator.cli import main

INCIDENTS = Path(__file__).parent / "fixtures" / "incidents"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The installed entry point in a real process, as users and hooks run it."""
    return subprocess.run(
        [sys.executable, "-m", "rotator", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_clean_tree_exits_0(tmp_path):
    (tmp_path / "README.md").write_text("nothing to see\n")
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "0 leaked secrets; scanned 1 file(s)" in completed.stdout


def test_findings_exit_1_with_redacted_text(tmp_path):
    key = resend_key()
    (tmp_path / "notes.md").write_text(f"RESEND_API_KEY={key}\n")
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 1
    assert key not in completed.stdout + completed.stderr
    assert f"{key[:4]}…{key[-4:]}" in completed.stdout
    assert "notes.md:1" in completed.stdout


def test_json_report_follows_the_contract(tmp_path):
    completed = run("scan", str(INCIDENTS / "000_ae2cff7d65658a11.txt"), "--format", "json")
    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["version"] == 1
    assert report["tool"]["name"] == "rotator"
    assert {"target", "mode", "commits", "blobs", "files", "bytes", "seconds"} <= set(report["scan"])
    assert report["scan"]["mode"] == "files"
    finding = next(f for f in report["findings"] if f["rule"] == "resend-api-key")
    assert finding["kind"] == "resend_api_key"
    assert finding["name"] == "RESEND_API_KEY"
    assert finding["redacted"] == "re_N…bv5N"
    assert len(finding["secret_sha256"]) == 64
    assert finding["confidence"] in {"high", "medium", "low"}
    assert [loc["line"] for loc in finding["locations"]] == [57, 77]
    assert set(finding["locations"][0]) >= {"path", "line", "commit", "author", "date"}
    assert finding["verified"] is None and finding["live_in"] == []
    assert {"fingerprint", "first_commit", "in_head", "removed_in"} <= set(finding)


def test_output_file_and_quiet(tmp_path):
    (tmp_path / "a.env").write_text(f"API_TOKEN={random_token()}\n")
    out = tmp_path / "report" / "r.json"
    completed = run("scan", str(tmp_path / "a.env"), "-f", "json", "-o", str(out), "--quiet")
    assert completed.returncode == 1 and completed.stdout == ""
    assert json.loads(out.read_text())["findings"]


def test_missing_path_is_a_usage_error(tmp_path):
    completed = run("scan", str(tmp_path / "nope"))
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: no such file or directory")
    assert "Traceback" not in completed.stderr


def test_malformed_config_points_at_the_line(tmp_path):
    (tmp_path / "rotator.toml").write_text("[scan]\nmax_file_size = \n")
    (tmp_path / "a.txt").write_text("hello\n")
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 2
    assert "invalid TOML" in completed.stderr and "line 2" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_config_in_pyproject_sets_the_size_limit(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.rotator.scan]\nmax_file_size = "1KB"\n')
    (tmp_path / "big.env").write_text(f"API_TOKEN={random_token()}\n" + "#" * 2000)
    completed = run("scan", str(tmp_path), "-f", "json")
    report = json.loads(completed.stdout)
    assert report["scan"]["skipped"]["too_large"] == 1 and report["findings"] == []


def test_unknown_config_key_is_rejected(tmp_path):
    (tmp_path / "rotator.toml").write_text("[scan]\nmax_size = 5\n")
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 2 and "unknown scan setting 'max_size'" in completed.stderr


def test_broken_user_plugin_names_the_file(tmp_path):
    plugin = tmp_path / "mine.py"
    plugin.write_text("raise RuntimeError('boom')\n")
    (tmp_path / "rotator.toml").write_text('[scan]\nplugins = ["mine.py"]\n')
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 2 and "mine.py: cannot import plugin" in completed.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_canary_secret_never_appears_whole(tmp_path, fmt):
    canary = f"CANARY{random_token(26)}"
    for name, text in {
        "a.env": f"API_TOKEN={canary}\n",
        "b.md": f"| `DB_PASSWORD` | `{canary}` |\n",
        "c.py": f'SECRET_KEY = os.getenv("SECRET_KEY", "{canary}")\n',
        "d.yml": f"url: postgresql://app:{canary}@db:5432/app\n",
    }.items():
        (tmp_path / name).write_text(text)
    out = tmp_path / "out.txt"
    outputs = []
    for extra in ([], ["--verbose"], ["-o", str(out)]):
        completed = run("scan", str(tmp_path), "-f", fmt, *extra)
        assert completed.returncode == 1
        outputs += [completed.stdout, completed.stderr]
    outputs.append(out.read_text())
    for text in outputs:
        assert canary not in text
        assert canary[6:20] not in text


def test_canary_never_appears_in_error_paths(tmp_path):
    canary = f"CANARY{random_token(26)}"
    (tmp_path / "rotator.toml").write_text(f'[scan]\nmax_file_size = "{canary}"\n')
    completed = run("scan", str(tmp_path))
    assert completed.returncode == 2
    # the config value is echoed (it is the user's own typo, not a scanned secret) but a
    # scanned secret never is: scan a file holding the canary with a broken output path
    (tmp_path / "rotator.toml").unlink()
    (tmp_path / "a.env").write_text(f"API_TOKEN={canary}\n")
    completed = run("scan", str(tmp_path / "a.env"), "-o", str(tmp_path / "a.env" / "x"))
    assert completed.returncode == 2
    assert canary not in completed.stdout + completed.stderr


def test_help_is_written_for_people():
    result = CliRunner().invoke(main, ["scan", "--help"])
    assert result.exit_code == 0
    assert "--all-files" in result.output and "--format" in result.output


def test_scans_and_audits_never_load_the_platform_clients(tmp_path):
    """httpx takes ~55 ms to import, a quarter of a small repository's audit: commands that call
    no platform never import it (a platform error is still one line where one is raised)."""
    from testkit import git, make_repo

    repo = make_repo(tmp_path / "app")
    (repo / "settings.py").write_text(f'API_TOKEN = "{random_token(32)}"\n')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "settings")
    probe = ("import sys\nfrom rotator.entry import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n    code = done.code\n"
             "print('HTTPX' if 'httpx' in sys.modules else 'NO-HTTPX', code)\n")
    for command in (["audit", str(repo), "--no-worktree"], ["scan", str(repo)]):
        completed = subprocess.run([sys.executable, "-c", probe, *command, "-q", "-f", "json", "-o",
                                    str(tmp_path / "report.json")], capture_output=True, text=True, timeout=120)
        assert completed.stdout.strip().endswith("NO-HTTPX 1"), completed.stdout + completed.stderr
