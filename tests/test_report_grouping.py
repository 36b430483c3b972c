"""Reports that read well on real repositories: distinct secrets counted as such, occurrences
grouped per file and commit with a cap, previews that recognise without revealing, and SARIF
with one result per place (validated against the published 2.1.0 schema)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import git, make_repo, random_token, shared_dir

from rotator.redact import redact, secret_sha256

INCIDENT_000 = Path(__file__).parent / "fixtures" / "incidents" / "000_ae2cff7d65658a11.txt"
# the schema as published (OASIS), kept with the other published specs
SARIF_SCHEMA = shared_dir() / "anchors" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture
def incident(tmp_path) -> Path:
    """Incident 000 as a team would have it: a runbook in their repository (not under tests/)."""
    copy = tmp_path / "docs" / "runbook.txt"
    copy.parent.mkdir()
    copy.write_bytes(INCIDENT_000.read_bytes())
    return copy


def rotator(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_incident_000_sarif_has_one_result_per_place_and_validates(tmp_path, incident):
    import jsonschema

    completed = rotator("scan", str(incident), "-f", "sarif", cwd=tmp_path)
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    results = document["runs"][0]["results"]
    assert len(results) == 10
    assert all("relatedLocations" not in r for r in results)
    places = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
               r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    assert len(places) == 10  # each line annotated once
    assert len({r["partialFingerprints"]["rotatorPlace/v1"] for r in results}) == 10
    assert len({r["partialFingerprints"]["rotatorFinding/v1"] for r in results}) == 5


def test_incident_000_summary_counts_distinct_secrets_and_places(tmp_path, incident):
    text = rotator("scan", str(incident), cwd=tmp_path).stdout
    assert "5 distinct secrets leaked in 10 places" in text
    report = json.loads(rotator("scan", str(incident), "-f", "json", cwd=tmp_path).stdout)
    assert report["scan"]["distinct_secrets"] == 5 and report["scan"]["places"] == 10


def test_json_report_keeps_every_contract_field(tmp_path, incident):
    report = json.loads(rotator("scan", str(incident), "-f", "json", cwd=tmp_path).stdout)
    assert {"version", "tool", "scan", "findings"} <= set(report)
    assert {"target", "mode", "commits", "blobs", "files", "bytes", "seconds"} <= set(report["scan"])
    contract = {"fingerprint", "rule", "kind", "name", "secret_sha256", "redacted", "confidence",
                "locations", "first_commit", "in_head", "removed_in", "verified", "live_in"}
    for finding in report["findings"]:
        assert contract <= set(finding)
        assert all({"path", "line", "commit", "author", "date"} <= set(loc) for loc in finding["locations"])


def test_lines_are_grouped_per_file_with_a_cap(tmp_path):
    token = random_token(32)
    (tmp_path / "runbook.md").write_text("".join(f"step {n}: API_TOKEN={token}\n" for n in range(1, 10)))
    text = rotator("scan", ".", cwd=tmp_path).stdout
    assert "runbook.md:1, 2, 3, 4, 5, +4 more" in text
    assert "1 distinct secret leaked in 9 places" in text
    verbose = rotator("scan", ".", "-v", cwd=tmp_path).stdout
    assert "runbook.md:1, 2, 3, 4, 5, 6, 7, 8, 9" in verbose
    assert token not in text + verbose


def test_audit_groups_per_commit_and_caps_the_commits(tmp_path):
    repo = make_repo(tmp_path / "r")
    token = random_token(32)
    for round_ in range(7):  # the secret is pasted in, taken out, pasted in again
        (repo / "notes.md").write_text(f"round {round_}\nAPI_TOKEN={token}\nAPI_TOKEN={token}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-qm", f"paste {round_}")
        (repo / "notes.md").write_text(f"round {round_}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-qm", f"remove {round_}")
    first = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    pasted = git(repo, "rev-list", "--reverse", "HEAD").split()[0]
    assert pasted == first
    text = rotator("audit", ".", "--no-cache", cwd=repo).stdout
    assert f"notes.md:2, 3  {first[:7]} by Ada" in text
    assert "+2 more commit(s) with 4 line(s) (-v lists them)" in text
    assert "1 distinct secret leaked in 14 places" in text
    verbose = rotator("audit", ".", "--no-cache", "-v", cwd=repo).stdout
    assert verbose.count("notes.md:2, 3  ") == 7
    assert token not in text + verbose


@pytest.mark.parametrize("length", [1, 5, 7, 8, 12, 15, 16, 23, 24, 31, 32, 36, 44, 64, 200])
def test_previews_reveal_at_most_a_quarter_and_four_per_side(length):
    value = random_token(length)
    preview = redact(value)
    if length < 8:
        assert preview == f"… ({length} chars, sha256 {secret_sha256(value)[:6]})"
        return
    head, _, tail = preview.partition("…")
    tail = tail.split(" (")[0]
    assert value.startswith(head) and value.endswith(tail)
    assert len(head) == len(tail) <= 4 and len(head) + len(tail) <= length / 4
    assert (f"({length} chars)" in preview) == (length < 16)


def test_short_values_are_told_apart_by_length_and_ends():
    assert redact("hunter22") == "h…2 (8 chars)"
    assert redact("hunter2") != redact("letmein")  # both 7: the hash prefix tells them apart
    assert "hunter" not in redact("hunter2")


def test_an_edit_that_keeps_the_secret_adds_no_place(tmp_path):
    """A later commit editing another line of the file carries the secret along: it is the
    same place, not a second one without a commit."""
    repo = make_repo(tmp_path / "r")
    token = random_token(32)
    (repo / "settings.env").write_text(f"API_TOKEN={token}\nDEBUG=0\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "add")
    added = git(repo, "rev-parse", "HEAD").strip()
    for debug in (1, 2):
        (repo / "settings.env").write_text(f"API_TOKEN={token}\nDEBUG={debug}\n")
        git(repo, "commit", "-qam", f"debug {debug}")
    report = json.loads(rotator("audit", ".", "--no-cache", "-f", "json", cwd=repo).stdout)
    [finding] = report["findings"]
    assert [(loc["path"], loc["line"], loc["commit"]) for loc in finding["locations"]] == [
        ("settings.env", 1, added)]
    assert report["scan"]["places"] == 1
