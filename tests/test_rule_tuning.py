"""Rule tuning as the peers' users know it: --disable-rule/--enable-rule (betterleaks,
detect-secrets --disable-plugin), [[scan.allowlists]] (gitleaks), --only-verified (trufflehog
--results=verified), and audit --since/--range (a `git log` range), on scan, audit and the hook."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import git, make_repo, random_token, resend_key


def rotator(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def _rules(report: dict) -> set[tuple[str, str]]:
    return {(f["rule"], f["path"] if "path" in f else f["locations"][0]["path"]) for f in report["findings"]}


class Values(dict):
    """Planted values; shown as their names only, so a failing test prints no value."""

    def __repr__(self) -> str:
        return f"Values({', '.join(self)})"


@pytest.fixture
def leaky(tmp_path):
    """A folder with a Resend key, a generic token and a JWT secret; the values stay here."""
    values = Values(resend=resend_key(), token=random_token(32), jwt=random_token(40))
    (tmp_path / "app.env").write_text(f"RESEND_API_KEY={values['resend']}\nAPI_TOKEN={values['token']}\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "auth.env").write_text(f"JWT_SECRET={values['jwt']}\n")
    return tmp_path, values


def _assert_no_value(completed: subprocess.CompletedProcess, values: dict) -> None:
    for value in values.values():
        assert value not in completed.stdout + completed.stderr


def test_disable_rule_leaves_the_rule_out_and_says_why_with_verbose(leaky):
    folder, values = leaky
    completed = rotator("scan", ".", "--disable-rule", "resend-api-key", "-f", "json", cwd=folder)
    report = json.loads(completed.stdout)
    assert "resend-api-key" not in {f["rule"] for f in report["findings"]}
    assert report["scan"]["in_disabled_rules"] == 1
    assert [s["reason"] for s in report["suppressed"]] == ["rule resend-api-key disabled"]
    text = rotator("scan", ".", "--disable-rule", "resend-api-key", "--disable-rule", "jwt-secret", "-v",
                   cwd=folder)
    assert "not shown: RESEND_API_KEY" in text.stdout and "rule resend-api-key disabled" in text.stdout
    assert "2 in disabled rules not shown" in text.stdout
    quiet = rotator("scan", ".", "--disable-rule", "resend-api-key", cwd=folder)
    assert "not shown:" not in quiet.stdout  # the reasons are for --verbose
    _assert_no_value(text, values)


def test_enable_rule_reports_only_those_rules(leaky):
    folder, _ = leaky
    report = json.loads(rotator("scan", ".", "--enable-rule", "jwt-secret", "-f", "json", cwd=folder).stdout)
    assert {f["rule"] for f in report["findings"]} == {"jwt-secret"}
    assert report["scan"]["in_disabled_rules"] == 2


def test_unknown_rule_id_is_one_line_naming_close_matches(leaky):
    folder, _ = leaky
    completed = rotator("scan", ".", "--disable-rule", "resend-api-ky", cwd=folder)
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert "unknown rule 'resend-api-ky'" in completed.stderr and "resend-api-key" in completed.stderr
    far = rotator("audit", ".", "--enable-rule", "zzzz", cwd=folder)
    assert far.returncode == 2 and "unknown rule 'zzzz'" in far.stderr


def test_config_rules_and_allowlists_by_path_regex_and_stopword(leaky):
    folder, values = leaky
    (folder / "docs.md").write_text(f"API_TOKEN=AcmeCorp{random_token(28)}\n")
    (folder / "rotator.toml").write_text(f"""
[scan]
disable_rules = ["resend-api-key"]

[[scan.allowlists]]
description = "deployment examples"
paths = ['^deploy/']

[[scan.allowlists]]
description = "the Acme tokens"
stopwords = ["acmecorp"]

[[scan.allowlists]]
description = "this one token, for generic rules only"
regexes = ['^{values['token'][:10]}']
rules = ["generic-secret-assignment"]
""")
    completed = rotator("scan", ".", "-v", cwd=folder)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "allowlisted by deployment examples" in out
    assert "allowlisted by the Acme tokens" in out
    assert "allowlisted by this one token, for generic rules only" in out
    assert "rule resend-api-key disabled" in out
    assert "0 leaked secrets" in out and "3 allowlisted, 1 in disabled rules not shown" in out
    report = json.loads(rotator("scan", ".", "-f", "json", cwd=folder).stdout)
    assert report["findings"] == [] and report["scan"]["allowlisted"] == 3
    _assert_no_value(completed, values)
    # the command line adds to the config: enabling one rule leaves out the rest
    only_jwt = json.loads(rotator("scan", ".", "--enable-rule", "jwt-secret", "-f", "json", cwd=folder).stdout)
    assert only_jwt["findings"] == []  # the JWT secret is under deploy/: still allowlisted


def test_allowlist_scoped_to_other_rules_does_not_apply(leaky):
    folder, _ = leaky
    (folder / "rotator.toml").write_text("""
[[scan.allowlists]]
description = "deploy, for the Resend rule only"
paths = ['^deploy/']
rules = ["resend-api-key"]
""")
    report = json.loads(rotator("scan", ".", "-f", "json", cwd=folder).stdout)
    assert ("jwt-secret", "deploy/auth.env") in _rules(report)


@pytest.mark.parametrize("table, message", [
    ("[[scan.allowlists]]\ndescription = 'x'\npath = ['a']\n", "unknown key 'path'"),
    ("[[scan.allowlists]]\ndescription = 'x'\n", "it allows nothing"),
    ("[[scan.allowlists]]\nregexes = ['(unclosed']\n", "is not a valid regex"),
    ("[[scan.allowlists]]\nstopwords = ['x']\nrules = ['no-such-rule']\n", "unknown rule 'no-such-rule'"),
    ("[scan]\ndisable_rules = 'generic-secret'\n", "scan.disable_rules must be a list of rule ids"),
    ("[scan]\nenable_rule = ['jwt-secret']\n", "unknown scan setting 'enable_rule'"),
])
def test_config_validation_stays_strict(tmp_path, table, message):
    (tmp_path / "rotator.toml").write_text(table)
    completed = rotator("scan", ".", cwd=tmp_path)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr


def test_value_allowlists_apply_to_audit_and_its_cache_follows_them(tmp_path):
    repo = make_repo(tmp_path / "r")
    token = random_token(32)
    (repo / "a.env").write_text(f"API_TOKEN=sandbox{token}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "add")
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(rotator("audit", ".", "-f", "json", cwd=repo, env=env).stdout)
    assert len(first["findings"]) == 1
    (tmp_path / "allow.toml").write_text("[[scan.allowlists]]\ndescription = 'sandbox tokens'\n"
                                         "regexes = ['^sandbox']\n")
    allowed = rotator("audit", ".", "--config", str(tmp_path / "allow.toml"), "-v", cwd=repo, env=env)
    assert allowed.returncode == 0 and "allowlisted by sandbox tokens" in allowed.stdout
    again = json.loads(rotator("audit", ".", "-f", "json", cwd=repo, env=env).stdout)
    assert len(again["findings"]) == 1  # the cached verdict did not leak into an audit without it


def test_only_verified_needs_verify(leaky):
    folder, _ = leaky
    completed = rotator("scan", ".", "--only-verified", cwd=folder)
    assert completed.returncode == 2 and "--only-verified needs --verify" in completed.stderr


def test_only_verified_keeps_live_secrets_only(tmp_path, postgres_server):
    name = "tune_" + secrets.token_hex(4)
    password = "pw-" + secrets.token_hex(12)
    live_url = postgres_server.create_role_and_database(name, password, name)
    dead_url = live_url.replace(password, "pw-" + secrets.token_hex(12))
    (tmp_path / "live.env").write_text(f"DATABASE_URL={live_url}\n")
    (tmp_path / "dead.env").write_text(f"DATABASE_URL={dead_url}\nAPI_TOKEN={random_token(32)}\n")
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(tmp_path / ".cache")}
    completed = rotator("scan", ".", "--verify", "--only-verified", "-f", "json", cwd=tmp_path, env=env)
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert [(f["locations"][0]["path"], f["verified"]) for f in report["findings"]] == [("live.env", "live")]
    assert report["scan"]["not_verified_live"] == 2
    text = rotator("scan", ".", "--verify", "--only-verified", cwd=tmp_path, env=env).stdout
    assert "2 not confirmed live not shown" in text
    assert password not in completed.stdout + text


# ---- audit --since / --range --------------------------------------------------------------


def _commit_at(repo: Path, files: dict[str, str], date: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    subprocess.run(["git", "commit", "-qm", f"at {date}"], cwd=repo, env=env, check=True)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def dated_repo(tmp_path):
    """old: a token in 2020; then in 2023 the same file edited (the old token still there) and
    a new token added elsewhere; the Resend key in 2024."""
    repo = make_repo(tmp_path / "dated")
    old, new, key = random_token(32), random_token(32), resend_key()
    first = _commit_at(repo, {"a.env": f"API_TOKEN={old}\n"}, "2020-01-01T12:00:00Z")
    middle = _commit_at(repo, {"a.env": f"# edited\nAPI_TOKEN={old}\n", "b.env": f"API_TOKEN={new}\n"},
                        "2023-01-01T12:00:00Z")
    last = _commit_at(repo, {"c.env": f"RESEND_API_KEY={key}\n"}, "2024-01-01T12:00:00Z")
    return repo, {"first": first, "middle": middle, "last": last}


def _paths(completed: subprocess.CompletedProcess) -> set[str]:
    assert completed.returncode in (0, 1), completed.stderr
    return {f["locations"][0]["path"] for f in json.loads(completed.stdout)["findings"]}


def test_audit_range_and_since_report_what_those_commits_introduced(dated_repo, tmp_path):
    repo, commits = dated_repo
    env = {**os.environ, "ROTATOR_CACHE_DIR": str(tmp_path / "cache")}

    def audit(*args):
        return rotator("audit", ".", "--no-worktree", "-f", "json", *args, cwd=repo, env=env)

    assert _paths(audit()) == {"a.env", "b.env", "c.env"}
    # a.env's token predates the range: the edit in `middle` is not an introduction
    assert _paths(audit("--range", f"{commits['first']}..{commits['middle']}")) == {"b.env"}
    assert _paths(audit("--range", f"{commits['first']}..")) == {"b.env", "c.env"}
    assert _paths(audit("--since", commits["middle"])) == {"c.env"}
    assert _paths(audit("--since", "2022-06-01")) == {"b.env", "c.env"}
    # the whole-history report is not replaced by a limited one in the cache
    assert _paths(audit()) == {"a.env", "b.env", "c.env"}
    report = json.loads(audit("--since", "2022-06-01").stdout)
    assert report["scan"]["target"] == ". (since 2022-06-01)"


@pytest.mark.parametrize("args, message", [
    (["--range", "nosuch..HEAD"], "'nosuch' is not a commit"),
    (["--range", "HEAD"], "is not a range"),
    (["--since", "not a date at all"], "is neither a date nor a commit"),
])
def test_audit_range_typos_are_errors(dated_repo, args, message):
    repo, _ = dated_repo
    completed = rotator("audit", ".", *args, cwd=repo)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr
    assert completed.stderr.strip().count("\n") == 0


# ---- the pre-commit hook (scan --staged, parsed without click) ----------------------------


def test_hook_honours_disable_rule_and_config_allowlists(tmp_path):
    repo = make_repo(tmp_path / "hook")
    (repo / "rotator.toml").write_text("[[scan.allowlists]]\ndescription = 'fixtures'\npaths = ['^tests/fixtures/']\n")
    (repo / "tests" / "fixtures").mkdir(parents=True)
    (repo / "tests" / "fixtures" / "a.env").write_text(f"API_TOKEN={random_token(32)}\n")
    (repo / "app.env").write_text(f"RESEND_API_KEY={resend_key()}\n")
    git(repo, "add", ".")
    from rotator.entry import parse_staged_invocation

    invocation = parse_staged_invocation(["scan", "--staged", "--disable-rule", "resend-api-key",
                                          "--disable-rule=jwt-secret"])
    assert invocation is not None and invocation.disable_rules == ["resend-api-key", "jwt-secret"]
    blocked = rotator("scan", "--staged", cwd=repo)
    assert blocked.returncode == 1 and "app.env" in blocked.stdout and "tests/fixtures" not in blocked.stdout
    passed = rotator("scan", "--staged", "--disable-rule", "resend-api-key", "-v", cwd=repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "allowlisted by fixtures" in passed.stdout and "rule resend-api-key disabled" in passed.stdout
    typo = rotator("scan", "--staged", "--disable-rule", "resend", cwd=repo)
    assert typo.returncode == 2 and "unknown rule 'resend'" in typo.stderr


def test_baseline_create_leaves_out_what_the_config_tunes_away(leaky):
    folder, _ = leaky
    (folder / "rotator.toml").write_text("[scan]\ndisable_rules = ['resend-api-key']\n"
                                         "[[scan.allowlists]]\ndescription = 'deploy'\npaths = ['^deploy/']\n")
    assert rotator("baseline", "create", ".", cwd=folder).returncode == 0
    entries = json.loads((folder / ".rotator-baseline.json").read_text())["entries"]
    assert [(e["path"], e["rule"]) for e in entries] == [("app.env", "generic-secret-assignment")]
