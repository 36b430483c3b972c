"""Baselines that do not churn, detect-secrets migration, and SARIF for code scanning."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import random_token, resend_key

FIXTURES = Path(__file__).parent / "fixtures"


def rotator(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_baseline_does_not_change_when_lines_move(tmp_path):
    (tmp_path / "a.env").write_text(f"API_TOKEN={random_token(30)}\nDB_PASSWORD={random_token(30)}\n")
    assert rotator("baseline", "create", ".", cwd=tmp_path).returncode == 0
    first = (tmp_path / ".rotator-baseline.json").read_text()
    body = (tmp_path / "a.env").read_text()
    (tmp_path / "a.env").write_text("# a comment\n\n" + "\n".join(reversed(body.splitlines())) + "\n")
    assert rotator("baseline", "update", ".", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".rotator-baseline.json").read_text() == first
    document = json.loads(first)
    assert all(set(e) == {"path", "rule", "secret_sha256", "redacted", "note"} for e in document["entries"])
    assert '"line' not in first and "generated_at" not in first


def test_scan_with_baseline_reports_only_new_findings_and_never_writes_it(tmp_path):
    (tmp_path / "a.env").write_text(f"API_TOKEN={random_token(30)}\n")
    rotator("baseline", "create", ".", cwd=tmp_path)
    baseline = tmp_path / ".rotator-baseline.json"
    before = baseline.read_bytes()
    assert rotator("scan", ".", "--baseline", str(baseline), cwd=tmp_path).returncode == 0
    (tmp_path / "b.env").write_text(f"API_TOKEN={random_token(30)}\n")
    completed = rotator("scan", ".", "--baseline", str(baseline), cwd=tmp_path)
    assert completed.returncode == 1 and "b.env:1" in completed.stdout and "a.env" not in completed.stdout
    assert baseline.read_bytes() == before


def test_baseline_check_reports_stale_entries(tmp_path):
    (tmp_path / "a.env").write_text(f"API_TOKEN={random_token(30)}\n")
    rotator("baseline", "create", ".", cwd=tmp_path)
    assert rotator("baseline", "check", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "a.env").write_text("API_TOKEN=${API_TOKEN}\n")
    completed = rotator("baseline", "check", ".", cwd=tmp_path)
    assert completed.returncode == 1 and "stale: a.env" in completed.stdout


def test_detect_secrets_baseline_is_honoured_and_migrated(tmp_path):
    accepted, audited_real = random_token(30), random_token(30)
    (tmp_path / "a.env").write_text(f"API_TOKEN={accepted}\n")
    (tmp_path / "b.env").write_text(f"API_TOKEN={audited_real}\n")
    legacy = {
        "version": "1.5.0", "plugins_used": [], "filters_used": [],
        "results": {
            "a.env": [{"type": "Secret Keyword", "filename": "a.env", "line_number": 1,
                       "hashed_secret": hashlib.sha1(accepted.encode()).hexdigest(), "is_verified": False,
                       "is_secret": False}],
            "b.env": [{"type": "Secret Keyword", "filename": "b.env", "line_number": 1,
                       "hashed_secret": hashlib.sha1(audited_real.encode()).hexdigest(),
                       "is_verified": False, "is_secret": True}],
        },
    }
    (tmp_path / ".secrets.baseline").write_text(json.dumps(legacy))
    completed = rotator("scan", ".", "--baseline", ".secrets.baseline", cwd=tmp_path)
    assert completed.returncode == 1 and "b.env:1" in completed.stdout and "a.env" not in completed.stdout
    assert rotator("baseline", "create", ".", "--from-detect-secrets", ".secrets.baseline", cwd=tmp_path).returncode == 0
    migrated = json.loads((tmp_path / ".rotator-baseline.json").read_text())
    assert [e["path"] for e in migrated["entries"]] == ["a.env"]
    assert rotator("scan", "a.env", "b.env", "--baseline", ".rotator-baseline.json", cwd=tmp_path).returncode == 1


def _sarif_schema() -> dict:
    # vendored: source and licence in tests/fixtures/sarif/
    return json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())


@pytest.mark.parametrize("command", ["scan", "audit"])
def test_sarif_validates_and_meets_code_scanning_rules(tmp_path, command):
    import jsonschema  # a test dependency (pyproject [test]): missing is a failure, not a skip
    from testkit import git, make_repo

    repo = make_repo(tmp_path / "r")
    key, token = resend_key(), random_token(30)
    (repo / "notes.md").write_text(f"RESEND_API_KEY={key}\nRESEND_API_KEY={key}\nAPI_TOKEN={token}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    args = [command, "."] + (["--no-cache"] if command == "audit" else [])
    completed = rotator(*args, "--format", "sarif", cwd=repo)
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules.values())
    for result in run["results"]:
        assert result["ruleId"] in rules
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert result["partialFingerprints"]["rotatorFinding/v1"]
    assert key not in completed.stdout and token not in completed.stdout
    assert key[5:20] not in completed.stdout and token[4:20] not in completed.stdout
