"""`rotator baseline audit`: triage as detect-secrets users know it (y/n/s/q, `is_secret` in the
baseline by hash), driven through a real process with stdin piped, and through CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from testkit import random_token

from rotator.cli import main

BASELINE = ".rotator-baseline.json"


def rotator(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, input=stdin)


class Values(dict):
    """Planted values; shown as their names only, so a failing test prints no value."""

    def __repr__(self) -> str:
        return f"Values({', '.join(self)})"


@pytest.fixture
def triaged(tmp_path):
    """Two findings accepted into a baseline; `shared` also sits, unflagged, beside the first."""
    values = Values(token=random_token(32), shared=random_token(24), url_password=random_token(20))
    (tmp_path / "app.env").write_text(
        "# settings\nDEBUG=1\n"
        f"API_TOKEN={values['token']}\n"
        f"OTHER={values['shared']}\n"
        f"MIRROR=https://deploy:{values['url_password']}@example.com/x\n")
    (tmp_path / "docs.md").write_text(f"intro\nJWT_SECRET={values['shared']}\n")
    assert rotator("baseline", "create", ".", cwd=tmp_path).returncode == 0
    return tmp_path, values


def _entries(folder: Path) -> dict[str, dict]:
    return {e["path"]: e for e in json.loads((folder / BASELINE).read_text())["entries"]}


def _no_value(text: str, values: dict) -> None:
    for value in values.values():
        assert value not in text


def test_interactive_triage_through_a_pipe_shows_redacted_context_and_resumes(triaged):
    folder, values = triaged
    assert set(_entries(folder)) >= {"app.env", "docs.md"}
    order = [e["path"] for e in json.loads(rotator("baseline", "audit", "--json", cwd=folder).stdout)]
    first = rotator("baseline", "audit", cwd=folder, stdin="x y q")  # x: not a key, asked again
    assert first.returncode == 0, first.stderr
    assert "press y, n, s or q" in first.stdout
    assert "API_TOKEN=" in first.stdout or "JWT_SECRET=" in first.stdout  # the context is there
    assert "1 labelled now" in first.stdout and "left to label (run it again to resume)" in first.stdout
    _no_value(first.stdout + first.stderr, values)
    entries = _entries(folder)
    assert entries[order[0]]["is_secret"] is True
    assert all("is_secret" not in entries[p] for p in order[1:])
    # resumes with what is left: the first entry is not asked again
    second = rotator("baseline", "audit", cwd=folder, stdin="n\n" * len(order))
    assert f"[1/{len(order) - 1}] {order[1]}" in second.stdout
    assert "0 left to label" in second.stdout
    assert all(_entries(folder)[p]["is_secret"] is False for p in order[1:])
    _no_value(second.stdout + second.stderr, values)


def test_context_redacts_every_value_in_the_lines_shown(triaged, monkeypatch):
    folder, values = triaged
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(main, ["baseline", "audit"], input="sss", catch_exceptions=False)
    assert result.exit_code == 0
    out = result.output
    assert ">     3 | API_TOKEN=" in out  # the line of the finding is marked
    assert "OTHER=" in out and "MIRROR=https://deploy:***@example.com/x" in out
    assert f"{values['shared'][:3]}…{values['shared'][-3:]}" in out
    assert "0 labelled now" in out and "left to label" in out
    _no_value(out, values)
    assert all("is_secret" not in e for e in _entries(folder).values())  # skips store nothing


def test_mark_and_json_for_tools(triaged):
    folder, values = triaged
    listing = json.loads(rotator("baseline", "audit", "--json", cwd=folder).stdout)
    assert {e["verdict"] for e in listing} == {"unlabelled"}
    docs = next(e for e in listing if e["path"] == "docs.md")
    marked = rotator("baseline", "audit", "--mark", f"{docs['secret_sha256'][:10]}=false", "--json", cwd=folder)
    assert marked.returncode == 0, marked.stderr
    after = {e["path"]: e for e in json.loads(marked.stdout)}
    assert after["docs.md"]["verdict"] == "false_positive" and after["docs.md"]["is_secret"] is False
    assert _entries(folder)["docs.md"]["is_secret"] is False
    _no_value(marked.stdout + marked.stderr, values)


@pytest.mark.parametrize("mark, message", [
    ("deadbeef00=false", "matches no entry"),
    ("abc=real", "expected HASH=real or HASH=false"),
    ("0123456789=maybe", "expected HASH=real or HASH=false"),
])
def test_mark_errors_change_nothing(triaged, mark, message):
    folder, _ = triaged
    before = (folder / BASELINE).read_bytes()
    completed = rotator("baseline", "audit", "--mark", mark, cwd=folder)
    assert completed.returncode == 2 and message in completed.stderr
    assert (folder / BASELINE).read_bytes() == before


def test_false_positives_stay_accepted_and_real_secrets_are_reported_again(triaged):
    folder, values = triaged
    listing = {e["path"]: e for e in json.loads(rotator("baseline", "audit", "--json", cwd=folder).stdout)}
    assert rotator("scan", ".", "--baseline", BASELINE, cwd=folder).returncode == 0
    app = listing["app.env"]["secret_sha256"]
    docs = listing["docs.md"]["secret_sha256"]
    assert rotator("baseline", "audit", "--mark", f"{app}=real", "--mark", f"{docs}=false",
                   cwd=folder).returncode == 0
    completed = rotator("scan", ".", "--baseline", BASELINE, "-f", "json", cwd=folder)
    assert completed.returncode == 1
    reported = {f["locations"][0]["path"] for f in json.loads(completed.stdout)["findings"]}
    assert reported == {"app.env"}
    # an update keeps the verdicts; a check still counts the real one as current
    assert rotator("baseline", "update", ".", cwd=folder).returncode == 0
    assert _entries(folder)["app.env"]["is_secret"] is True and _entries(folder)["docs.md"]["is_secret"] is False
    assert rotator("baseline", "check", ".", cwd=folder).returncode == 0
    _no_value(completed.stdout, values)


def test_a_bad_verdict_in_the_file_is_a_clear_error(triaged):
    folder, _ = triaged
    document = json.loads((folder / BASELINE).read_text())
    document["entries"][0]["is_secret"] = "yes"
    (folder / BASELINE).write_text(json.dumps(document))
    completed = rotator("scan", ".", "--baseline", BASELINE, cwd=folder)
    assert completed.returncode == 2 and "is_secret must be true or false" in completed.stderr


def test_context_masks_values_no_rule_flags_there(tmp_path):
    """A value unflagged on a neighbouring line (letters only, or short) is masked; names and
    words stay readable."""
    import string

    from rotator.redact import secret_sha256
    from rotator.scan.baseline import BaselineEntry
    from rotator.scan.engine.ruleset import load_ruleset
    from rotator.scan.triage import redacted_context

    token = random_token(32)
    letters = "Qx" + random_token(22, string.ascii_letters)
    short = random_token(9, string.digits)
    (tmp_path / "app.env").write_text(
        f"# Settings for production\nPLAIN={letters}\nAPI_TOKEN={token}\nPIN={short}\n")
    entry = BaselineEntry("app.env", "generic-secret-assignment", secret_sha256(token))
    lines = redacted_context(entry, tmp_path, load_ruleset(engine="python"))
    shown = "\n".join(lines)
    assert "# Settings for production" in shown and "PLAIN=" in shown and "PIN=" in shown
    assert "API_TOKEN=" in shown and len(lines) == 4
    for value in (token, letters, short):
        assert value not in shown
