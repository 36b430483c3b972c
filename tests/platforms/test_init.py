"""`rotator init` against the sandbox: live credentials grouped into a rotation config that
loads, plans, marks leaked values, and never holds a value."""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from testkit import git, make_repo

from rotator.cli import main
from rotator.config import load_config
from rotator.inventory.classify import FamilyClassifier
from rotator.redact import secret_sha256
from rotator.rotate.config import load_rotation_settings
from rotator.rotate.run import plan_rotation
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.sandbox import IncidentSecrets, Sandbox

pytestmark = pytest.mark.slow

PLATFORMS = ("--railway-project", "intowork", "--vercel-project", "frontend")
# the seeded Vercel rows: production, preview (all branches and one), development, and the
# custom environment `staging`; and the deployments they feed
ALL_VERCEL_ROWS = "vercel:frontend:production+preview+development+staging"
FRONTEND_UNITS = ["vercel:frontend:production", "vercel:frontend:env@staging",
                  "vercel:frontend:preview@feature-billing", "vercel:frontend:preview@feature-login"]


@pytest.fixture(scope="module")
def incident(postgres_server: LocalPostgres) -> Iterator[tuple[Sandbox, IncidentSecrets]]:
    """One seeded sandbox for the tests that only read it."""
    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        yield sandbox, sandbox.seed_incident()


def _environ(sandbox: Sandbox) -> dict[str, str]:
    # collect_inventory reads ROTATOR_RAILWAY_URL / ROTATOR_VERCEL_URL for another endpoint
    return {**sandbox.client_environment(), "ROTATOR_RAILWAY_URL": sandbox.railway.graphql_url,
            "ROTATOR_VERCEL_URL": sandbox.vercel.url}


def _init(sandbox: Sandbox, *args: str) -> Result:
    return CliRunner().invoke(main, ["init", *args], env=_environ(sandbox))


def _secret_texts(seeded: IncidentSecrets, hashes: bool) -> dict[str, str]:
    values = {**seeded.by_variable(), "PGPASSWORD": seeded.database_password}
    texts = {}
    for name, value in values.items():
        texts[f"{name} value"] = value
        texts[f"{name} value prefix"] = value[:12]
        if hashes:
            texts[f"{name} sha256"] = secret_sha256(value)
            texts[f"{name} sha256 prefix"] = secret_sha256(value)[:12]
    return texts


def _assert_no_secret(seeded: IncidentSecrets, *texts: str, hashes: bool = True) -> None:
    """No value (nor, by default, a hash or hash prefix of one) in any of `texts`."""
    haystack = "\n".join(texts)
    for label, text in _secret_texts(seeded, hashes).items():
        assert text not in haystack, f"{label} written"


def _groups(path: Path) -> dict[str, dict]:
    return {g["name"]: g for g in tomllib.loads(path.read_text("utf-8"))["secrets"]}


def test_each_live_credential_becomes_one_group(incident, tmp_path, monkeypatch):
    sandbox, seeded = incident
    monkeypatch.chdir(tmp_path)
    result = _init(sandbox, *PLATFORMS)
    assert result.exit_code == 0, result.output
    assert "wrote rotator.toml: 5 group(s) to rotate (0 leaked)" in result.stderr
    assert result.stdout == ""
    written = tmp_path / "rotator.toml"
    groups = _groups(written)
    assert set(groups) == {"nextauth-secret", "jwt-secret", "secret-key", "database-url",
                           "resend-api-key"}
    # the backend and every Vercel row hold one value: one group, one target per platform,
    # the custom environment named by its slug
    assert groups["nextauth-secret"] == {
        "name": "nextauth-secret", "family": "nextauth", "variables": ["NEXTAUTH_SECRET"],
        "targets": ["railway:backend@production", ALL_VERCEL_ROWS],
        "format": "base64-32", "mode": "scheduled", "max_age": "90d"}
    assert groups["jwt-secret"]["family"] == "jwt"
    assert groups["secret-key"]["family"] == "secret_key"
    assert groups["secret-key"]["format"] == "hex-32"
    assert all(g["targets"] == ["railway:backend@production"]
               for name, g in groups.items() if name not in ("nextauth-secret", "database-url"))
    # one role's password: its literal home on the template (POSTGRES_PASSWORD) and the copy
    # pasted into the worker; the references follow it. Resend issues its own
    assert groups["database-url"] == {
        "name": "database-url", "family": "postgres",
        "variables": ["DATABASE_URL", "POSTGRES_PASSWORD"],
        "targets": ["railway:Postgres@production", "railway:worker@production"],
        "format": "alnum-32", "mode": "scheduled", "max_age": "90d"}
    assert groups["resend-api-key"]["family"] == "resend"
    assert "format" not in groups["resend-api-key"]
    text = written.read_text("utf-8")
    # the sensitive production row cannot be hashed: placed by name, and said so
    assert "vercel:frontend (production) NEXTAUTH_SECRET: value unreadable" in text
    # the backend's DATABASE_URL is a reference: never a target, noted on its source's group
    assert "railway:backend (production) DATABASE_URL is a reference (${{Postgres.DATABASE_URL}})" in text
    # the family's parameters, as commented hints under its group
    assert '# params = {key_name = "…", domain_id = "…"}' in text
    assert '# params = {connect_variable = "DATABASE_PUBLIC_URL"}' in text
    assert "[platforms.railway]" in text and 'project = "intowork"' in text
    assert "# [[health]]" in text and "\n[[health]]" not in text
    _assert_no_secret(seeded, text, result.stdout, result.stderr)


def test_written_config_loads_and_plans_ready(incident, tmp_path):
    sandbox, seeded = incident
    output = tmp_path / "conf" / "rotator.toml"
    result = _init(sandbox, *PLATFORMS, "-o", str(output))
    assert result.exit_code == 0, result.output
    assert f"rotator plan --config {output}" in result.stderr
    environ = _environ(sandbox)
    settings = load_rotation_settings(load_config(output), environ)
    assert [g.name for g in settings.secrets] == ["database-url", "jwt-secret", "nextauth-secret",
                                                  "resend-api-key", "secret-key"]
    assert settings.health == ()
    (plan,) = plan_rotation(settings, ["nextauth-secret"], environ=environ)
    assert plan.ready, plan.blockers
    assert len(plan.current.locations) == 6  # backend, five Vercel rows
    assert any("no [[health]] checks configured" in note for note in plan.notes)
    plans = {p.group.name: p for p in plan_rotation(settings, environ=environ)}
    assert all(p.ready for name, p in plans.items() if name != "resend-api-key")
    # which Resend key the services use cannot be read from the platforms: the plan asks
    assert any("params.key_id or params.key_name" in b
               for b in plans["resend-api-key"].blockers)
    # the plan shows fingerprints of current values by design; values never
    _assert_no_secret(seeded, json.dumps(plan.to_json()), hashes=False)


def test_value_leaked_in_history_makes_its_group_leak_mode(incident, tmp_path):
    sandbox, seeded = incident
    repo = make_repo(tmp_path / "repo")
    (repo / "docs").mkdir()
    (repo / "docs" / "RUNBOOK.md").write_text(
        f"| `NEXTAUTH_SECRET` | `{seeded.nextauth_secret}` | session signing |\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "runbook")
    commit = git(repo, "rev-parse", "HEAD").strip()
    report = tmp_path / "audit.json"
    audit = CliRunner().invoke(main, ["audit", str(repo), "--no-cache", "-j", "1",
                                      "-f", "json", "-o", str(report)])
    assert audit.exit_code == 1, audit.output

    output = tmp_path / "rotator.toml"
    result = _init(sandbox, *PLATFORMS, "--report", str(report), "-o", str(output))
    assert result.exit_code == 0, result.output
    assert "5 group(s) to rotate (1 leaked)" in result.stderr
    groups = list(_groups(output).values())
    assert groups[0]["name"] == "nextauth-secret"  # leaked groups first
    assert groups[0]["mode"] == "leak" and "max_age" not in groups[0]
    assert all(g["mode"] == "scheduled" and g["max_age"] == "90d" for g in groups[1:])
    text = output.read_text("utf-8")
    assert (f"# LEAKED: NEXTAUTH_SECRET in docs/RUNBOOK.md (first commit {commit[:12]}), "
            "rule nextauth-secret") in text
    assert text.index("LEAKED") < text.index('name = "nextauth-secret"')
    _assert_no_secret(seeded, text, result.stdout, result.stderr)


def test_existing_file_is_kept_unless_forced(incident, tmp_path):
    sandbox, _ = incident
    output = tmp_path / "rotator.toml"
    output.write_text("# mine\n")
    refused = _init(sandbox, *PLATFORMS, "-o", str(output))
    assert refused.exit_code == 2
    assert refused.stderr == (f"error: {output} already exists (pass --force to overwrite it, "
                              "or -o OTHER.toml (-o - for stdout))\n")
    assert output.read_text() == "# mine\n"
    forced = _init(sandbox, *PLATFORMS, "-o", str(output), "--force")
    assert forced.exit_code == 0, forced.output
    assert "nextauth-secret" in _groups(output)


def test_dash_writes_the_config_to_stdout(incident, tmp_path, monkeypatch):
    sandbox, seeded = incident
    monkeypatch.chdir(tmp_path)
    result = _init(sandbox, *PLATFORMS, "-o", "-")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "rotator.toml").exists()
    assert {g["name"] for g in tomllib.loads(result.stdout)["secrets"]} == {
        "nextauth-secret", "jwt-secret", "secret-key", "database-url", "resend-api-key"}
    assert "wrote standard output" in result.stderr
    _assert_no_secret(seeded, result.stdout, result.stderr)


def test_nothing_rotatable_exits_1_and_writes_nothing(postgres_server, tmp_path):
    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        state, ids = sandbox.railway_state, sandbox.ids
        payments = state.add_service(ids.railway_project_id, "payments")
        stripe_key = "sk_live_" + secrets.token_hex(12)
        state.set_variables(ids.railway_environment_id, payments,
                            {"STRIPE_SECRET_KEY": stripe_key})
        existing = tmp_path / "locate.toml"
        existing.write_text(f'[platforms.railway]\nproject = "intowork"\nservices = ["payments"]\n'
                            f'url = "{sandbox.railway.graphql_url}"\n')
        output = tmp_path / "rotator.toml"
        result = _init(sandbox, "--config", str(existing), "-o", str(output))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("nothing this version can rotate: found STRIPE_SECRET_KEY "
                                    "(stripe)"), result.stderr
    assert not output.exists()
    assert stripe_key not in result.output


def test_no_platform_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["init", "-o", str(tmp_path / "rotator.toml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no platform to read (pass --railway-project")
    assert len(result.stderr.splitlines()) == 1


def test_aliases_and_unreadable_values_join_their_group(postgres_server, tmp_path):
    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        seeded = sandbox.seed_incident(deploy=False)
        ids, railway = sandbox.ids, sandbox.railway_state
        # Auth.js v5 alias on the frontend; Better Auth's secret equals the backend JWT_SECRET
        sandbox.vercel_state.add_env(ids.vercel_project_id, "AUTH_SECRET",
                                     seeded.nextauth_secret, target=["development"])
        auth = railway.add_service(ids.railway_project_id, "auth")
        railway.set_variables(ids.railway_environment_id, auth,
                              {"BETTER_AUTH_SECRET": seeded.jwt_secret})
        # a sealed copy of SECRET_KEY on a worker, and a weak secret nobody else holds
        worker = railway.add_service(ids.railway_project_id, "worker")
        railway.set_variables(ids.railway_environment_id, worker,
                              {"SECRET_KEY": seeded.secret_key, "SESSION_SECRET": "changeme"})
        railway.seal(ids.railway_environment_id, worker, "SECRET_KEY")
        output = tmp_path / "rotator.toml"
        result = _init(sandbox, *PLATFORMS, "-o", str(output))
        assert result.exit_code == 0, result.output
        groups = _groups(output)
        assert groups["nextauth-secret"]["variables"] == ["NEXTAUTH_SECRET", "AUTH_SECRET"]
        assert groups["nextauth-secret"]["targets"] == [
            "railway:backend@production", ALL_VERCEL_ROWS]
        assert groups["better-auth-secret"]["variables"] == ["BETTER_AUTH_SECRET", "JWT_SECRET"]
        assert groups["better-auth-secret"]["family"] == "jwt"
        assert set(groups["better-auth-secret"]["targets"]) == {
            "railway:auth@production", "railway:backend@production"}
        assert set(groups["secret-key"]["targets"]) == {
            "railway:backend@production", "railway:worker@production"}
        assert groups["session-secret"]["family"] == "generic"
        text = output.read_text("utf-8")
        assert "railway:worker (production) SECRET_KEY: value unreadable" in text
        load_rotation_settings(load_config(output), _environ(sandbox))
        _assert_no_secret(seeded, text, result.stdout, result.stderr)
        assert '"changeme"' not in text


def test_family_is_decided_by_the_scan_detectors():
    classifier = FamilyClassifier()
    assert classifier.family("AUTH_SECRET", "oSuE9h0uOOrPFpTQwaqy3BCv1fwWh83P") == "nextauth"
    assert classifier.family("DATABASE_URL",
                             "postgresql://app:Zk3mQ8vX1pL6rT9w@db.internal:5432/app") == "postgres"
    assert classifier.family("LOG_LEVEL", "INFO") is None
    # a placeholder-looking live value is still a live credential when it is weak
    assert classifier.family("SECRET_KEY", "changeme") is None
    assert classifier.family("SECRET_KEY", "changeme", weak=True) == "secret_key"
    assert classifier.family("NEXTAUTH_SECRET", None) is None


def test_shared_variables_are_a_target_and_their_references_follow(postgres_server, tmp_path):
    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        seeded = sandbox.seed_incident()
        state, ids = sandbox.railway_state, sandbox.ids
        state.set_variables(ids.railway_environment_id, None,
                            {"NEXTAUTH_SECRET": seeded.nextauth_secret})
        state.set_variables(ids.railway_environment_id, ids.backend_service_id,
                            {"NEXTAUTH_SECRET": "${{shared.NEXTAUTH_SECRET}}"})
        output = tmp_path / "rotator.toml"
        result = _init(sandbox, *PLATFORMS, "-o", str(output))
        assert result.exit_code == 0, result.output
        group = _groups(output)["nextauth-secret"]
        assert group["targets"] == ["railway:shared@production", ALL_VERCEL_ROWS]
        environ = _environ(sandbox)
        settings = load_rotation_settings(load_config(output), environ)
        (plan,) = plan_rotation(settings, ["nextauth-secret"], environ=environ)
        assert plan.ready, plan.blockers
        assert [u["unit"] for u in plan.units] == [*FRONTEND_UNITS, "railway:backend@production"]
        _assert_no_secret(seeded, output.read_text(), result.output)
