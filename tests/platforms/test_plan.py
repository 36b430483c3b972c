"""`rotator plan` against the sandbox: what a rotation would change, and no side effect."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """
[platforms.railway]
project = "intowork"
url = "{railway}"
[platforms.vercel]
project = "frontend"
url = "{vercel}"

[[secrets]]
name = "nextauth"
family = "nextauth"
variables = ["NEXTAUTH_SECRET", "AUTH_SECRET"]
targets = ["railway:backend@production", "vercel:frontend:production+preview"]
format = "base64-32"
max_age = "90d"

[[secrets]]
name = "resend"
family = "resend"
variables = ["RESEND_API_KEY"]
targets = ["railway:backend@production"]
mode = "leak"

[[health]]
url = "https://backend.example/health"
expect_status = 200
expect_json = {{status = "healthy"}}
"""


def _plan(tmp_path: Path, sandbox, config: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "rotator.toml").write_text(config.format(railway=sandbox.railway.graphql_url,
                                                          vercel=sandbox.vercel.url))
    env = {**os.environ, **sandbox.client_environment()}
    return subprocess.run([sys.executable, "-m", "rotator", "plan", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def _state(sandbox):
    ids = sandbox.ids
    return (copy.deepcopy(sandbox.railway_state.raw_variables(ids.railway_environment_id, ids.backend_service_id)),
            copy.deepcopy(sandbox.vercel_state.envs[ids.vercel_project_id]),
            len(sandbox.railway_state.deployments))


def test_plan_lists_writes_calls_redeploys_and_changes_nothing(tmp_path, seeded_sandbox):
    before = _state(seeded_sandbox)
    completed = _plan(tmp_path, seeded_sandbox, CONFIG)
    assert _state(seeded_sandbox) == before
    text = completed.stdout
    assert "write  railway:backend (production) NEXTAUTH_SECRET  [update]" in text
    assert "write  vercel:frontend (preview) NEXTAUTH_SECRET  [update]" in text
    assert "redeploy railway:backend (production)" in text and "redeploy vercel:frontend (production)" in text
    assert "Railway: variableCollectionUpsert on backend (production), skipDeploys: true" in text
    assert "Resend: DELETE /api-keys/{old} as soon as the services run on the new key (leak mode" in text
    # the production row is `sensitive`: the old value cannot be restored, so it blocks
    assert "BLOCKED vercel:frontend (production) NEXTAUTH_SECRET" in text
    assert completed.returncode == 1
    report = json.loads(_plan(tmp_path, seeded_sandbox, CONFIG, "-f", "json", "resend").stdout)
    assert [g["name"] for g in report["groups"]] == ["resend"] and report["blocked"] is False
    ids = seeded_sandbox.ids
    values = seeded_sandbox.railway_state.raw_variables(ids.railway_environment_id, ids.backend_service_id)
    for value in values.values():
        if len(value) > 12:
            assert value not in completed.stdout + completed.stderr


def test_config_errors_point_at_the_line(tmp_path, sandbox):
    broken = CONFIG.replace('family = "resend"', 'family = "sendgrid"')
    completed = _plan(tmp_path, sandbox, broken)
    assert completed.returncode == 2
    line = next(i for i, text in enumerate((tmp_path / "rotator.toml").read_text().splitlines(), 1)
                if text.strip() == "[[secrets]]" and i > 10)
    assert f"rotator.toml:{line}: family 'sendgrid' is not a plugin" in completed.stderr
    bad_target = CONFIG.replace('"railway:backend@production"]\nmode', '"railway backend"]\nmode')
    completed = _plan(tmp_path, sandbox, bad_target)
    assert completed.returncode == 2 and "is not PLATFORM:SERVICE[@ENV]" in completed.stderr
