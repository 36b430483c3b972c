"""`rotator locate` against the sandbox: leaked values matched by hash to live variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit import shared_dir

from rotator.inventory.collect import collect_inventory, url_password
from rotator.inventory.config import platforms_from_config
from rotator.redact import secret_sha256


def _project(tmp_path: Path, sandbox, runbook: str) -> Path:
    (tmp_path / "rotator.toml").write_text(
        "[platforms.railway]\n"
        f'project = "intowork"\nenvironments = ["production"]\nurl = "{sandbox.railway.graphql_url}"\n'
        "[platforms.vercel]\n"
        f'project = "frontend"\nurl = "{sandbox.vercel.url}"\n'
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "RUNBOOK.md").write_text(runbook)
    return tmp_path


def _locate(project: Path, sandbox, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **sandbox.client_environment(), "ROTATOR_CACHE_DIR": str(project / ".cache")}
    return subprocess.run([sys.executable, "-m", "rotator", "locate", "docs", *args], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)


def test_leaked_values_are_located_on_the_platforms(tmp_path, seeded_sandbox):
    secrets = _incident_values(seeded_sandbox)
    runbook = (
        "| Variable | Value |\n|---|---|\n"
        f"| `NEXTAUTH_SECRET` | `{secrets['NEXTAUTH_SECRET']}` |\n"
        f"| `RESEND_API_KEY` | `{secrets['RESEND_API_KEY']}` |\n"
        f"| `DATABASE_URL` | `{secrets['DATABASE_URL']}` |\n"
        f"| `OLD_API_TOKEN` | `{'Zq4' * 10}Xy` |\n"
    )
    project = _project(tmp_path, seeded_sandbox, runbook)
    completed = _locate(project, seeded_sandbox)
    assert completed.returncode == 1, completed.stderr
    text = completed.stdout
    assert "NEXTAUTH_SECRET leaked in docs/RUNBOOK.md is LIVE in railway:backend (production)" in text
    assert "vercel:frontend (preview)" in text
    assert "RESEND_API_KEY leaked in docs/RUNBOOK.md is LIVE in railway:backend (production)" in text
    # the database password lives on the Postgres service (POSTGRES_PASSWORD, and the
    # references that render from it); the backend refers to it, the worker holds a copy
    assert "railway:Postgres (production) as POSTGRES_PASSWORD" in text
    assert "railway:worker (production)" in text
    assert "not live on the configured platforms (1)" in text
    # the production row of the frontend is `sensitive`: listed as unreadable, not silently skipped
    assert "vercel:frontend (production) NEXTAUTH_SECRET" in text
    for value in secrets.values():
        assert value not in completed.stdout + completed.stderr

    report = json.loads(_locate(project, seeded_sandbox, "-f", "json").stdout)
    by_name = {f["name"]: f for f in report["findings"]}
    assert {"platform": "railway", "service": "backend", "environment": "production",
            "variable": "RESEND_API_KEY"} in by_name["RESEND_API_KEY"]["live_in"]
    assert by_name["OLD_API_TOKEN"]["live_in"] == []


def test_nothing_live_exits_0_and_a_bad_token_exits_2(tmp_path, seeded_sandbox):
    project = _project(tmp_path, seeded_sandbox, f"API_TOKEN={'Qw8' * 10}\n")
    assert _locate(project, seeded_sandbox).returncode == 0
    env = {**os.environ, **seeded_sandbox.client_environment(), "RAILWAY_API_TOKEN": "not-a-token"}
    completed = subprocess.run([sys.executable, "-m", "rotator", "locate", "docs"], cwd=project,
                               env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ") and "Railway" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_missing_platform_config_is_a_clear_error(tmp_path):
    (tmp_path / "a.env").write_text("X=1\n")
    completed = subprocess.run([sys.executable, "-m", "rotator", "locate", "."], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "no platforms configured" in completed.stderr


def test_inventory_holds_hashes_only(seeded_sandbox):
    secrets = _incident_values(seeded_sandbox)
    config = platforms_from_config(
        {"platforms": {"railway": {"project": "intowork", "url": seeded_sandbox.railway.graphql_url}}},
        None, seeded_sandbox.client_environment())
    inventory = collect_inventory(config, seeded_sandbox.client_environment())
    dump = repr(inventory)
    for value in secrets.values():
        assert value not in dump
    backend = {v.variable: v for v in inventory.variables if v.service == "backend"}
    assert backend["DATABASE_URL"].reference is True
    assert backend["DATABASE_URL"].password_sha256 == secret_sha256(url_password(secrets["DATABASE_URL"]))


def _incident_values(sandbox) -> dict[str, str]:
    """The values the seeded sandbox holds (read back from its state, as a leak would show)."""
    ids = sandbox.ids
    backend = sandbox.railway_state.raw_variables(ids.railway_environment_id, ids.backend_service_id)
    # the template stores DATABASE_URL as references: a leak shows what it renders to
    postgres = sandbox.railway_state.rendered_variables(ids.railway_environment_id,
                                                        ids.postgres_service_id)
    return {"NEXTAUTH_SECRET": backend["NEXTAUTH_SECRET"], "RESEND_API_KEY": backend["RESEND_API_KEY"],
            "DATABASE_URL": postgres["DATABASE_URL"]}


def test_sarif_lists_the_live_leaks_with_where_they_are_live(tmp_path, seeded_sandbox):
    import jsonschema

    secrets = _incident_values(seeded_sandbox)
    runbook = (f"NEXTAUTH_SECRET={secrets['NEXTAUTH_SECRET']}\n"
               f"OLD_API_TOKEN={'Zq4' * 10}Xy\n")
    project = _project(tmp_path, seeded_sandbox, runbook)
    completed = _locate(project, seeded_sandbox, "--format", "sarif", "-o", "live.sarif")
    assert completed.returncode == 1, completed.stderr
    text = (project / "live.sarif").read_text("utf-8")
    assert secrets["NEXTAUTH_SECRET"] not in text
    sarif = json.loads(text)
    schema = shared_dir() / "anchors" / "sarif" / "sarif-schema-2.1.0.json"
    jsonschema.validate(sarif, json.loads(schema.read_text("utf-8")))
    results = sarif["runs"][0]["results"]
    assert results and {r["properties"]["redacted"] for r in results} == {
        f"{secrets['NEXTAUTH_SECRET'][:4]}…{secrets['NEXTAUTH_SECRET'][-4:]}"}
    for result in results:
        assert {"platform": "railway", "service": "backend", "environment": "production",
                "variable": "NEXTAUTH_SECRET"} in result["properties"]["liveIn"]
        assert "LIVE in railway:backend (production)" in result["message"]["text"]


def test_quiet_prints_only_live_leaks_and_verbose_adds_where_they_leaked(tmp_path, seeded_sandbox):
    secrets = _incident_values(seeded_sandbox)
    runbook = f"NEXTAUTH_SECRET={secrets['NEXTAUTH_SECRET']}\nOLD_API_TOKEN={'Zq4' * 10}Xy\n"
    project = _project(tmp_path, seeded_sandbox, runbook)
    quiet = _locate(project, seeded_sandbox, "-q")
    assert quiet.returncode == 1
    (line,) = quiet.stdout.splitlines()
    assert line.startswith("NEXTAUTH_SECRET leaked in docs/RUNBOOK.md is LIVE in ")
    verbose = _locate(project, seeded_sandbox, "-v").stdout.splitlines()
    assert verbose[1] == "    leaked at docs/RUNBOOK.md:1"
    assert any(line.startswith("not live on the configured platforms") for line in verbose)
