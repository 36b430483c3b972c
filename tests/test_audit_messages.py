"""`rotator audit` reads commit and annotated tag messages: a secret pasted into one is a
finding located at its commit (or tag), in the text, JSON and SARIF reports alike."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from testkit import git, make_repo, random_token, resend_key

from rotator.cli import main
from rotator.config import ScanSettings
from rotator.redact import secret_sha256
from rotator.scan.audit import AuditOptions, audit_repository


def _commit(repo: Path, *message: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {}).items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    args = [part for line in message for part in ("-m", line)]
    git(repo, "commit", "-q", "--allow-empty", *args)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def message_repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("messages") / "app")
    planted = {
        "subject": resend_key(),
        "body": random_token(32),
        "tag": str(uuid.uuid4()),
        "branch": random_token(24),
    }
    commits = {}
    commits["init"] = _commit(repo, "init", files={"app.py": "print('hi')\n"})
    commits["subject"] = _commit(repo, f"Send mail with {planted['subject']}")
    commits["body"] = _commit(repo, "Fix the login crash loop",
                              f"Set on Railway:\nNEXTAUTH_SECRET={planted['body']}\nthen redeploy.")
    git(repo, "tag", "-a", "v1.0.0", "-m", "Release 1.0",
        "-m", f"Deployed with RAILWAY_TOKEN={planted['tag']}")
    git(repo, "tag", "v1.0.0-light")  # a lightweight tag: the commit's own message, nothing new
    commits["placeholder"] = _commit(repo, "Docs: set NEXTAUTH_SECRET=<your-secret> in .env",
                                     "Example: DB_PASSWORD=changeme")
    git(repo, "checkout", "-q", "-b", "feature")
    commits["branch"] = _commit(repo, "wip", f"DB_PASSWORD={planted['branch']}")
    git(repo, "checkout", "-q", "main")
    return repo, planted, commits


def _findings_by_hash(repo: Path) -> dict[str, list]:
    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    found: dict[str, list] = {}
    for finding in result.findings:
        found.setdefault(finding.secret_sha256, []).append(finding)
    return found


def test_secret_in_a_commit_subject_is_found_at_its_commit(message_repo):
    repo, planted, commits = message_repo
    (finding,) = _findings_by_hash(repo)[secret_sha256(planted["subject"])]
    assert finding.family == "resend"
    assert finding.path == "<commit message>"
    (location,) = finding.locations
    assert (location.commit, location.line, location.author) == (commits["subject"], 1, "Ada")
    assert location.date and finding.first_commit == commits["subject"]
    assert "refs/heads/main" in finding.reachable_from


def test_secret_in_a_commit_body_has_its_line_within_the_message(message_repo):
    repo, planted, commits = message_repo
    (finding,) = _findings_by_hash(repo)[secret_sha256(planted["body"])]
    assert finding.rule == "nextauth-secret" and finding.name == "NEXTAUTH_SECRET"
    (location,) = finding.locations
    # subject, blank line, "Set on Railway:", then the secret
    assert (location.commit, location.line) == (commits["body"], 4)


def test_secret_in_an_annotated_tag_message_names_the_tag(message_repo):
    repo, planted, commits = message_repo
    (finding,) = _findings_by_hash(repo)[secret_sha256(planted["tag"])]
    assert finding.rule == "railway-project-token"
    assert finding.path == "<tag message: v1.0.0>"
    (location,) = finding.locations
    assert location.commit == commits["body"]  # the commit the tag points at
    assert location.line == 3 and location.author == "Ada"


def test_secret_in_a_side_branch_commit_message_is_reachable_only_from_it(message_repo):
    repo, planted, commits = message_repo
    (finding,) = _findings_by_hash(repo)[secret_sha256(planted["branch"])]
    assert finding.locations[0].commit == commits["branch"]
    assert finding.reachable_from == ["refs/heads/feature"]


def test_placeholders_in_messages_are_not_reported(message_repo):
    repo, planted, _ = message_repo
    planted_hashes = {secret_sha256(v) for v in planted.values()}
    assert set(_findings_by_hash(repo)) == planted_hashes


def test_json_and_text_reports_show_the_message_location(message_repo):
    repo, planted, commits = message_repo
    runner = CliRunner()
    result = runner.invoke(main, ["audit", str(repo), "--no-cache", "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    (entry,) = [f for f in report["findings"] if f["secret_sha256"] == secret_sha256(planted["body"])]
    (location,) = entry["locations"]
    assert location["path"] == "<commit message>"
    assert location["commit"] == commits["body"] and location["author"] == "Ada" and location["date"]
    text = runner.invoke(main, ["audit", str(repo), "--no-cache", "--no-color"]).output
    assert "<commit message>:4" in text and "<tag message: v1.0.0>:3" in text
    for value in planted.values():
        assert value not in result.output and value not in text


def test_sarif_encodes_the_message_marker_as_a_uri(message_repo):
    repo, _, _ = message_repo
    result = CliRunner().invoke(main, ["audit", str(repo), "--no-cache", "--format", "sarif"])
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for run in json.loads(result.output)["runs"] for r in run["results"] for loc in r["locations"]}
    assert "%3Ccommit%20message%3E" in uris and not any("<" in uri or " " in uri for uri in uris)


def test_verify_rereads_the_secret_from_the_message(message_repo):
    """--verify has no value stored anywhere: it must re-read it from the commit message."""
    from rotator.scan.audit import _verify_one
    from rotator.scan.engine.ruleset import load_ruleset
    from rotator.verify.liveness import Verdict

    repo, planted, _ = message_repo
    finding = _findings_by_hash(repo)[secret_sha256(planted["subject"])][0]
    seen = []

    def record(family, value, line, name, environ, kind=None):
        seen.append(secret_sha256(value))
        return Verdict("unknown", "not asked")

    _verify_one(repo, finding, load_ruleset(), record, {})
    assert seen == [finding.secret_sha256]


def test_a_cached_re_audit_keeps_the_message_findings(message_repo):
    repo, planted, _ = message_repo
    first = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=True, jobs=1))
    again = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=True, jobs=1))
    assert again.stats.cached_blobs == again.stats.blobs > 0
    wanted = {secret_sha256(v) for v in planted.values()}
    assert {f.secret_sha256 for f in first.findings} == {f.secret_sha256 for f in again.findings} == wanted


def test_prose_in_a_message_is_not_a_secret(tmp_path):
    repo = make_repo(tmp_path / "app")
    _commit(repo, "Deploy docs", "Rejected: RUN --mount=type=secret | unsupported for Dockerfile builds")
    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    assert result.findings == []


def test_a_bullet_list_of_changes_in_a_message_is_prose(tmp_path):
    repo = make_repo(tmp_path / "app")
    _commit(repo, "Auth fixes", "- email-password: enforce domain allow-list on the credentials route\n"
            "- complete-document-with-token: only advance to the next slot once signed")
    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    assert result.findings == []
