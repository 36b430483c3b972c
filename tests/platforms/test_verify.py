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
