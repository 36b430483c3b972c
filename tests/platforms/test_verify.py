"""`rotator scan --verify` against the sandbox and the real PostgreSQL: live, dead, unknown."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid

from testkit import random_token, resend_key

from rotator.platforms.postgres import url_with_password


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_verify_tells_live_dead_and_unknown(tmp_path, seeded_sandbox):
    ids = seeded_sandbox.ids
    backend = seeded_sandbox.railway_state.raw_variables(ids.railway_environment_id, ids.backend_service_id)
    database_url = seeded_sandbox.railway_state.rendered_variables(
        ids.railway_environment_id, ids.postgres_service_id)["DATABASE_URL"]
    live_key, dead_key = backend["RESEND_API_KEY"], resend_key()
    wrong_password_url = url_with_password(database_url, random_token(24))
    unreachable_url = f"postgresql://app:{random_token(24)}@127.0.0.1:{_free_port()}/app"
    (tmp_path / "live.env").write_text(f"RESEND_API_KEY={live_key}\nDATABASE_URL={database_url}\n")
    (tmp_path / "dead.env").write_text(f"RESEND_API_KEY={dead_key}\nDATABASE_URL={wrong_password_url}\n")
    (tmp_path / "unknown.env").write_text(f"DATABASE_URL={unreachable_url}\n")
    env = {**os.environ, "ROTATOR_RESEND_URL": seeded_sandbox.resend.url,
           "ROTATOR_ALLOW_ENDPOINTS": seeded_sandbox.resend.url,
           "ROTATOR_CACHE_DIR": str(tmp_path / ".cache")}
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--verify", "-f", "json"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1, completed.stderr
    verdicts = {(f["locations"][0]["path"], f["rule"]): f["verified"]
                for f in json.loads(completed.stdout)["findings"]}
    assert verdicts == {
        ("live.env", "resend-api-key"): "live",
        ("live.env", "postgres-url-password"): "live",
        ("dead.env", "resend-api-key"): "dead",
        ("dead.env", "postgres-url-password"): "dead",
        ("unknown.env", "postgres-url-password"): "unknown",
    }
    text = subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--verify"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120).stdout
    assert "verified: LIVE (Resend accepts it" in text and "the database rejects the password" in text
    for value in (live_key, dead_key, database_url, wrong_password_url):
        assert value not in completed.stdout + completed.stderr + text


def test_without_verify_nothing_is_sent(tmp_path):
    (tmp_path / "a.env").write_text(f"RESEND_API_KEY={resend_key()}\n")
    env = {**os.environ, "ROTATOR_RESEND_URL": "http://127.0.0.1:9"}
    report = json.loads(subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "-f", "json"],
                                       cwd=tmp_path, env=env, capture_output=True, text=True).stdout)
    assert [f["verified"] for f in report["findings"]] == [None]


def test_audit_verify_rechecks_secrets_from_history(tmp_path, seeded_sandbox):
    from testkit import git, make_repo

    ids = seeded_sandbox.ids
    live_key = seeded_sandbox.railway_state.raw_variables(
        ids.railway_environment_id, ids.backend_service_id)["RESEND_API_KEY"]
    repo = make_repo(tmp_path / "repo")
    (repo / "RUNBOOK.md").write_text(f"RESEND_API_KEY={live_key}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    (repo / "RUNBOOK.md").unlink()
    git(repo, "commit", "-qam", "remove")
    env = {**os.environ, "ROTATOR_RESEND_URL": seeded_sandbox.resend.url,
           "ROTATOR_ALLOW_ENDPOINTS": seeded_sandbox.resend.url,
           "ROTATOR_CACHE_DIR": str(tmp_path / ".cache")}
    completed = subprocess.run([sys.executable, "-m", "rotator", "audit", str(repo), "--verify", "-f", "json"],
                               env=env, capture_output=True, text=True, timeout=120)
    [finding] = json.loads(completed.stdout)["findings"]
    assert finding["verified"] == "live" and finding["in_head"] is False
    assert live_key not in completed.stdout + completed.stderr


def test_platform_tokens_are_verified(tmp_path, sandbox):
    tokens = sandbox.client_environment()
    (tmp_path / "ci.env").write_text(
        f"RAILWAY_API_TOKEN={tokens['RAILWAY_API_TOKEN']}\nVERCEL_TOKEN={tokens['VERCEL_TOKEN']}\n")
    (tmp_path / "old.env").write_text(
        f"RAILWAY_API_TOKEN={uuid.uuid4()}\nVERCEL_TOKEN={random_token(24)}\n")
    env = {**os.environ, "ROTATOR_RAILWAY_URL": sandbox.railway.graphql_url,
           "ROTATOR_VERCEL_URL": sandbox.vercel.url, "ROTATOR_CACHE_DIR": str(tmp_path / ".cache"),
           "ROTATOR_ALLOW_ENDPOINTS": f"{sandbox.railway.url} {sandbox.vercel.url}"}
    for name in ("RAILWAY_API_TOKEN", "VERCEL_TOKEN", "RAILWAY_TOKEN", "RESEND_API_KEY"):
        env.pop(name, None)
    report = json.loads(subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--verify", "-f", "json"],
                                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120).stdout)
    verdicts = {(f["locations"][0]["path"], f["name"]): f["verified"] for f in report["findings"]}
    assert verdicts == {("ci.env", "RAILWAY_API_TOKEN"): "live", ("ci.env", "VERCEL_TOKEN"): "live",
                        ("old.env", "RAILWAY_API_TOKEN"): "dead", ("old.env", "VERCEL_TOKEN"): "dead"}


def _live_project_token(sandbox) -> str:
    """A project token shaped as Railway's are (a UUID), for the sandbox's production."""
    token = str(uuid.uuid4())
    ids = sandbox.ids
    sandbox.railway_state.project_tokens[token] = (ids.railway_project_id,
                                                   ids.railway_environment_id)
    return token


def _railway_env(tmp_path, sandbox) -> dict[str, str]:
    env = {**os.environ, "ROTATOR_RAILWAY_URL": sandbox.railway.graphql_url,
           "ROTATOR_ALLOW_ENDPOINTS": sandbox.railway.url,
           "ROTATOR_CACHE_DIR": str(tmp_path / ".cache")}
    for name in ("RAILWAY_API_TOKEN", "RAILWAY_TOKEN"):
        env.pop(name, None)
    return env


def test_project_tokens_under_any_name_are_verified_live(tmp_path, sandbox):
    """api/railway.md §2: a project token goes in Project-Access-Token, whatever the variable
    holding it is called; the rule's kind decides, not the exact name RAILWAY_TOKEN."""
    staging, prod, camel = (_live_project_token(sandbox) for _ in range(3))
    (tmp_path / "ci.env").write_text(f"STAGING_RAILWAY_TOKEN={staging}\n"
                                     f"PROD_RAILWAY_TOKEN={prod}\n")
    (tmp_path / "deploy.js").write_text(f"const railwayToken = '{camel}'\n")
    (tmp_path / "old.env").write_text(f"STAGING_RAILWAY_TOKEN={uuid.uuid4()}\n")
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--verify", "-f",
                                "json"], cwd=tmp_path, env=_railway_env(tmp_path, sandbox),
                               capture_output=True, text=True, timeout=120)
    findings = json.loads(completed.stdout)["findings"]
    verdicts = {(f["locations"][0]["path"], f["name"]): f["verified"] for f in findings}
    assert verdicts == {("ci.env", "STAGING_RAILWAY_TOKEN"): "live",
                        ("ci.env", "PROD_RAILWAY_TOKEN"): "live",
                        ("deploy.js", "railwayToken"): "live",
                        ("old.env", "STAGING_RAILWAY_TOKEN"): "dead"}
    for token in (staging, prod, camel):
        assert token not in completed.stdout + completed.stderr


def test_railway_token_verdicts_by_kind_and_form(sandbox):
    from rotator.verify.liveness import railway_token_forms, verify_secret

    env = {"ROTATOR_RAILWAY_URL": sandbox.railway.graphql_url,
           "ROTATOR_ALLOW_ENDPOINTS": sandbox.railway.url}
    project_token = _live_project_token(sandbox)
    tokens = sandbox.tokens
    assert railway_token_forms("railway_project_token", "X") == ("project", "bearer")
    assert railway_token_forms("railway_api_token", "RAILWAY_TOKEN") == ("bearer", "project")
    assert railway_token_forms(None, "PROD_RAILWAY_TOKEN") == ("project", "bearer")
    assert railway_token_forms(None, "RAILWAY_API_TOKEN") == ("bearer", "project")

    def verdict(value, name, kind):
        return verify_secret("railway", value, "", name, env, kind)

    # a project token kept under an API-token name is still live: both forms are tried
    live = verdict(project_token, "RAILWAY_API_TOKEN", "railway_api_token")
    assert (live.status, live.reason) == ("live", "Railway accepts it as a project token")
    assert verdict(tokens.railway_workspace_token, "RAILWAY_API_TOKEN",
                   "railway_api_token").reason == "Railway accepts it as a workspace token"
    assert verdict(tokens.railway_api_token, "RAILWAY_TOKEN",
                   "railway_project_token").reason == "Railway accepts it as an account token"
    # refused as one form, no clear answer as the other: not enough to call it dead (§12)
    sandbox.faults.add("projectToken", kind="http500", times=10)
    unclear = verdict(str(uuid.uuid4()), "STAGING_RAILWAY_TOKEN", "railway_project_token")
    assert unclear.status == "unknown" and "refused it as an account/workspace token" in (
        unclear.reason)
