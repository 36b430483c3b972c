"""`rotator check` against the sandbox: the drift that caused incidents 000 and 001."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BACKEND_SECRETS = ("NEXTAUTH_SECRET", "JWT_SECRET", "SECRET_KEY", "RESEND_API_KEY")


def _check(tmp_path: Path, sandbox, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "rotator.toml").write_text(
        f'[platforms.railway]\nproject = "intowork"\nurl = "{sandbox.railway.graphql_url}"\n'
        f'[platforms.vercel]\nproject = "frontend"\nurl = "{sandbox.vercel.url}"\n'
        '[check.required]\nbackend = ["NEXTAUTH_SECRET", "DATABASE_URL"]\n'
    )
    env = {**os.environ, **sandbox.client_environment()}
    return subprocess.run([sys.executable, "-m", "rotator", "check", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_healthy_configuration_has_no_problems(tmp_path, seeded_sandbox):
    completed = _check(tmp_path, seeded_sandbox)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("0 problem(s)")


def test_incident_000_variables_on_the_postgres_service(tmp_path, sandbox):
    sandbox.seed_incident(misplaced=True, deploy=False)
    completed = _check(tmp_path, sandbox)
    assert completed.returncode == 1
    assert "NEXTAUTH_SECRET is set on the database service Postgres (production) but on no app service (backend, worker)" in completed.stdout
    assert "backend (production) lacks NEXTAUTH_SECRET (set on Postgres)" in completed.stdout


def test_nextauth_secret_differs_between_backend_and_frontend(tmp_path, seeded_sandbox):
    ids = seeded_sandbox.ids
    seeded_sandbox.vercel_state.add_env(ids.vercel_project_id, "NEXTAUTH_SECRET", "A" * 20 + "b7Kq",
                                        target=["development"], type="encrypted")
    report = json.loads(_check(tmp_path, seeded_sandbox, "-f", "json").stdout)
    mismatches = [p["message"] for p in report["problems"] if p["kind"] == "linked_mismatch"]
    assert mismatches and "vercel:frontend (development) NEXTAUTH_SECRET differs" in mismatches[0]


def test_dangling_reference_and_weak_value(tmp_path, seeded_sandbox):
    ids = seeded_sandbox.ids
    seeded_sandbox.railway_state.set_variables(ids.railway_environment_id, ids.backend_service_id, {
        "REDIS_URL": "${{Redis.REDIS_URL}}", "SESSION_SECRET": "changeme"})
    completed = _check(tmp_path, seeded_sandbox)
    assert completed.returncode == 1
    assert "refers to ${{Redis.REDIS_URL}}, but there is no service 'Redis'" in completed.stdout
    assert "railway:backend (production) SESSION_SECRET is weak: a well-known default value" in completed.stdout
    assert "changeme" not in completed.stdout.replace("SESSION_SECRET is weak", "")


def test_quiet_prints_only_problems_and_verbose_lists_what_was_read(tmp_path, seeded_sandbox):
    quiet = _check(tmp_path, seeded_sandbox, "-q")
    assert quiet.returncode == 0 and quiet.stdout == ""
    verbose = _check(tmp_path, seeded_sandbox, "-v", "-o", "check.txt")
    assert verbose.returncode == 0 and verbose.stdout == ""
    lines = (tmp_path / "check.txt").read_text().splitlines()
    assert "read railway:backend (production): " in "\n".join(lines)
    assert lines[-1].startswith("0 problem(s)")
