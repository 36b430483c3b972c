"""Families with a provider side, end to end against the sandbox and a real PostgreSQL:

- postgres: ALTER ROLE with a client-side SCRAM verifier, every URL rebuilt with only its
  password changed, bare password variables set, the Railway reference in the backend left
  alone and the backend redeployed (the database service itself is not);
- resend: a new key issued, the old one deleted only after verification (leak mode), kept for
  a grace window in scheduled mode and deleted by `rotate --due` afterwards; on rollback the
  new key is deleted, including when the create call's answer was lost.
"""

from __future__ import annotations

import base64
import json
import secrets as secrets_module
from urllib.parse import urlsplit

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import (  # noqa: E402
    FRONTEND_UNITS,
    RotationRig,
    _process_env,
    database_end_state,
    database_group,
    resend_group,
    wait_for_all_deployments,
    write_config,
)

from rotator.cli import main  # noqa: E402
from rotator.platforms.postgres import LoginResult, check_login, parse_database_url  # noqa: E402
from rotator.rotate.journal import RotationJournal  # noqa: E402
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

POSTGRES_GROUP = database_group()


def configure(rig: RotationRig, extra: str) -> None:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=extra)


def _postgres_variables(rig: RotationRig) -> dict[str, str]:
    ids = rig.sandbox.ids
    return rig.sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                   ids.postgres_service_id)


def _live_backend_env(rig: RotationRig) -> dict[str, str]:
    ids = rig.sandbox.ids
    wait_for_all_deployments(rig.sandbox)
    live = rig.sandbox.railway_state.latest_active(ids.railway_environment_id,
                                                   ids.backend_service_id)
    return _process_env(live.app.process.pid)


def _captured(rig: RotationRig, into: dict) -> callable:
    """Step hook keeping the run's new secret (the test holds the journal key)."""
    def on_step(step: str) -> None:
        if step in ("prepared", "issued"):
            (path,) = rig.state_dir.glob("*.journal")
            journal = RotationJournal.load(path, rig.key)
            into["new"] = journal.provider.get("new_secret")
            into["old"] = journal.provider.get("old_secret")
    return on_step


def _assert_no_secret(rig: RotationRig, values: list[str | None], *texts: str) -> None:
    haystack = rig.files_text() + "\n".join(texts)
    for value in values:
        if value:
            assert value not in haystack


def _healthy(rig: RotationRig) -> None:
    wait_for_all_deployments(rig.sandbox)
    status, body = rig.sandbox.backend_health()
    assert (status, body.get("status")) == (200, "healthy"), body


# -- PostgreSQL ---------------------------------------------------------------------------

def test_postgres_plan_on_the_template_names_the_passwords_home(rig: RotationRig) -> None:
    configure(rig, POSTGRES_GROUP)
    (plan,) = plan_rotation(rig.settings, ["database"], environ=rig.environ)
    data = plan.to_json()
    assert data["ready"], data["blockers"]
    # the worker holds a pasted copy (written, redeployed); the backend only refers (redeployed,
    # last); the database service itself is not restarted
    assert [u["unit"] for u in data["redeploys"]] == ["railway:worker@production",
                                                      "railway:backend@production"]
    assert sorted((c["target"], c["variable"]) for c in data["changes"]) == [
        ("railway:Postgres@production", "POSTGRES_PASSWORD"),
        ("railway:worker@production", "DATABASE_URL")]
    notes = "\n".join(data["notes"])
    assert ("the password's one literal home: POSTGRES_PASSWORD (railway:Postgres@production)"
            in notes)
    assert "railway:Postgres@production: DATABASE_URL is a reference" in notes
    assert "railway:worker@production DATABASE_URL holds a literal copy" in notes
    assert "railway:backend@production refers to the rotated value" in notes
    assert any("ALTER ROLE" in call and "DATABASE_PUBLIC_URL" in call
               for call in data["provider_calls"])
    assert rig.seeded.database_password not in json.dumps(data)


def test_postgres_rotation_on_the_template(rig: RotationRig) -> None:
    configure(rig, POSTGRES_GROUP)
    old_url = rig.seeded.database_url
    secrets: dict = {}
    lines: list[str] = []
    result = start_rotation(rig.settings, "database", environ=rig.environ, echo=lines.append,
                            on_step=_captured(rig, secrets))
    assert result.state == "rotated", result.account
    new = secrets["new"]
    assert new and new.isalnum() and len(new) >= 43
    stored = _postgres_variables(rig)
    assert stored["POSTGRES_PASSWORD"] == new
    assert stored["PGPASSWORD"] == "${{POSTGRES_PASSWORD}}"  # references never overwritten
    ids = rig.sandbox.ids
    worker = rig.sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                     ids.worker_service_id)["DATABASE_URL"]
    before, after = urlsplit(old_url), urlsplit(worker)
    assert (after.scheme, after.hostname, after.port, after.path, after.query,
            after.username) == (before.scheme, before.hostname, before.port, before.path,
                                before.query, before.username)
    assert database_end_state(rig, rig.seeded.database_password, new) == "rotated"
    assert check_login(old_url).result is LoginResult.REJECTED
    _assert_no_secret(rig, [new, rig.seeded.database_password], *lines, *result.account)


def test_postgres_rotation_with_the_url_pasted_into_the_backend(
        postgres_server, tmp_path) -> None:
    """The other layout real projects have: the backend holds a literal copy of the URL."""
    from rotator.sandbox.health_proxy import BackendHealthProxy
    from rotator.sandbox.sandbox import Sandbox

    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        seeded = sandbox.seed_incident(pasted_backend_url=True)
        health = BackendHealthProxy(sandbox)
        try:
            config = write_config(tmp_path / "rotator.toml", sandbox, health.url,
                                  tmp_path / "state", extra=POSTGRES_GROUP)
            environ = {**sandbox.client_environment(), "ROTATOR_JOURNAL_KEY":
                       base64.b64encode(secrets_module.token_bytes(32)).decode()}
            from rotator.config import load_config
            from rotator.rotate.config import load_rotation_settings

            settings = load_rotation_settings(load_config(config), environ)
            (plan,) = plan_rotation(settings, ["database"], environ=environ)
            assert ("railway:backend@production", "DATABASE_URL") in {
                (c["target"], c["variable"]) for c in plan.to_json()["changes"]}
            result = start_rotation(settings, "database", environ=environ,
                                    echo=lambda _: None)
            assert result.state == "rotated", result.account
            ids = sandbox.ids
            backend = sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                          ids.backend_service_id)
            new = sandbox.railway_state.raw_variables(
                ids.railway_environment_id, ids.postgres_service_id)["POSTGRES_PASSWORD"]
            assert parse_database_url(backend["DATABASE_URL"]).password == new
            assert check_login(backend["DATABASE_URL"]).result is LoginResult.ACCEPTED
            assert check_login(seeded.database_url).result is LoginResult.REJECTED
            wait_for_all_deployments(sandbox)
            status, body = sandbox.backend_health()
            assert (status, body.get("status")) == (200, "healthy"), body
        finally:
            health.stop()


def test_postgres_rotation_rolls_back_the_role_when_health_fails(rig: RotationRig) -> None:
    configure(rig, POSTGRES_GROUP)
    secrets: dict = {}

    def on_step(step: str) -> None:
        _captured(rig, secrets)(step)
        if step == "activated":  # every health probe fails until the rollback starts
            rig.health.fail_next = 1000
        if step == "rollback-started":
            rig.health.fail_next = 0

    lines: list[str] = []
    result = start_rotation(rig.settings, "database", environ=rig.environ, echo=lines.append,
                            on_step=on_step)
    rig.health.fail_next = 0
    assert result.state == "rolled_back"
    assert database_end_state(rig, rig.seeded.database_password, secrets["new"]) == "previous"
    _assert_no_secret(rig, [secrets["new"], rig.seeded.database_password], *lines)


def test_postgres_kill_after_alter_role_then_resume(rig: RotationRig) -> None:
    configure(rig, POSTGRES_GROUP)
    secrets: dict = {}

    class Killed(BaseException):
        pass

    def on_step(step: str) -> None:
        _captured(rig, secrets)(step)
        if step == "activated":
            raise Killed

    with pytest.raises(Killed):
        start_rotation(rig.settings, "database", environ=rig.environ, echo=lambda _: None,
                       on_step=on_step)
    runner = CliRunner()
    out = runner.invoke(main, ["rotate", "--config", str(rig.config_path), "--secret",
                               "database", "--resume"], env=rig.environ)
    assert out.exit_code == 0, out.output
    assert database_end_state(rig, rig.seeded.database_password, secrets["new"]) == "rotated"


# -- Resend -------------------------------------------------------------------------------

def _keys(rig: RotationRig) -> dict[str, dict]:
    return dict(rig.sandbox.resend_state.keys)


def test_resend_leak_rotation_deletes_the_old_key_after_verification(rig: RotationRig) -> None:
    old_id = rig.sandbox.ids.resend_key_id
    configure(rig, resend_group(params=f'key_id = "{old_id}"'))
    secrets: dict = {}
    lines: list[str] = []
    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lines.append,
                            on_step=_captured(rig, secrets))
    assert result.state == "rotated", result.account
    keys = _keys(rig)
    assert old_id not in keys
    (new_key,) = (k for k in keys.values() if k["name"] != "management")
    assert new_key["token"] == secrets["new"]
    # the seeded key's restriction is carried over: sending-only, for the same domain
    assert (new_key["permission"], new_key["domain_id"]) == (
        "sending_access", rig.sandbox.ids.resend_domain_id)
    assert _live_backend_env(rig)["RESEND_API_KEY"] == secrets["new"]
    _healthy(rig)
    assert any(old_id in line for line in result.account)
    record = json.loads((rig.state_dir / "rotations.json").read_text())["groups"]["resend"]
    assert record["provider"]["new_key_id"] == new_key["id"]
    _assert_no_secret(rig, [secrets["new"], rig.seeded.resend_api_key], *lines,
                      *result.account)
    # the next rotation finds the key from the record: no key_id needed any more
    configure(rig, resend_group())
    second = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None)
    assert second.state == "rotated"
    assert new_key["id"] not in _keys(rig) and len(_keys(rig)) == 2  # management + newest


def test_resend_without_a_known_key_id_is_blocked_with_the_choices(rig: RotationRig) -> None:
    rig.sandbox.resend_state.add_key("staging")
    configure(rig, resend_group())
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=rig.environ)
    assert not plan.ready
    assert any("params.key_id" in b and "'staging'" in b for b in plan.blockers)


def test_resend_rollback_deletes_the_new_key(rig: RotationRig) -> None:
    old_id = rig.sandbox.ids.resend_key_id
    configure(rig, resend_group(params='key_name = "production"'))

    def on_step(step: str) -> None:
        if step == "apply-pushed":
            rig.health.fail_next = 1000
        if step == "rollback-started":
            rig.health.fail_next = 0

    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None,
                            on_step=on_step)
    rig.health.fail_next = 0
    assert result.state == "rolled_back"
    assert old_id in _keys(rig) and len(_keys(rig)) == 2  # management + the old key
    assert _live_backend_env(rig)["RESEND_API_KEY"] == rig.seeded.resend_api_key
    assert any("newly issued" in line for line in result.account)
    _healthy(rig)


def test_resend_lost_create_answer_rolls_back_and_deletes_the_orphan(rig: RotationRig) -> None:
    old_id = rig.sandbox.ids.resend_key_id
    configure(rig, resend_group(params=f'key_id = "{old_id}"'))
    # the server creates the key, but only after the client has given up waiting
    rig.sandbox.faults.add("api-keys/create", kind="timeout", delay=1.5)
    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None)
    assert result.state == "rolled_back"
    assert old_id in _keys(rig) and len(_keys(rig)) == 2  # management + the old key
    _healthy(rig)


def test_resend_scheduled_grace_keeps_the_old_key_until_due(rig: RotationRig) -> None:
    old_id = rig.sandbox.ids.resend_key_id
    # the job's own management key: the later `--due` deletes the old key with it
    rig.environ["RESEND_API_KEY"] = rig.sandbox.resend_state.add_key("ops")[1]
    configure(rig, resend_group("scheduled", f'key_id = "{old_id}"', 'grace = "7d"'))
    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None)
    assert result.state == "rotated"
    assert old_id in _keys(rig) and len(_keys(rig)) == 4  # management, old, ops, new
    path = rig.state_dir / "rotations.json"
    record = json.loads(path.read_text())
    (pending,) = record["groups"]["resend"]["pending_revocations"]
    assert pending["provider"]["old_key_id"] == old_id
    runner = CliRunner()
    early = runner.invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                          env=rig.environ)
    assert early.exit_code == 0, early.output
    assert old_id in _keys(rig)
    pending["not_before"] = "2000-01-01T00:00:00Z"
    path.write_text(json.dumps(record))
    due = runner.invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                        env=rig.environ)
    assert due.exit_code == 0, due.output
    assert old_id not in _keys(rig) and len(_keys(rig)) == 3  # management, ops, new
    assert "pending_revocations" not in json.loads(path.read_text())["groups"]["resend"]


@pytest.mark.parametrize("group", ["resend", "resend-api-key", "x" * 80])
def test_resend_key_names_fit_50_characters_and_keep_the_run(group: str) -> None:
    from rotator.plugins.resend import issued_key_name

    from rotator.rotate.journal import new_run_id

    run_id = new_run_id(group)
    name = issued_key_name(run_id)
    assert len(name) <= 50
    assert name.startswith(f"rotator {run_id[:16]}-")  # the run's timestamp
    assert name.endswith(run_id[-6:])  # and its random suffix
    if len(run_id) <= 42:
        assert name == f"rotator {run_id}"


def test_resend_group_named_like_init_writes_it_gets_a_key_name_within_50(
        rig: RotationRig) -> None:
    # `rotator init` names the group after the rule: "resend-api-key" (61 characters before).
    configure(rig, resend_group(params='key_name = "production"', name="resend-api-key"))
    result = start_rotation(rig.settings, "resend-api-key", environ=rig.environ,
                            echo=lambda _: None)
    assert result.state == "rotated", result.account
    (new_key,) = (k for k in _keys(rig).values() if k["name"] != "management")
    assert len(new_key["name"]) <= 50
    assert new_key["name"] == f"rotator {result.run_id}"  # the run id, whole
    assert new_key["domain_id"] == rig.sandbox.ids.resend_domain_id
    _healthy(rig)


def test_resend_sending_key_without_domain_is_blocked_with_the_domains(
        rig: RotationRig) -> None:
    configure(rig, resend_group(params='key_name = "production"', domain=None))
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=rig.environ)
    assert not plan.ready
    assert any("params.domain_id" in b and rig.sandbox.ids.resend_domain_id in b
               and "example.com" in b for b in plan.blockers)
    configure(rig, resend_group(params='key_name = "production"', domain="elsewhere.org"))
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=rig.environ)
    assert any("'elsewhere.org' is not a domain" in b for b in plan.blockers)


def test_resend_every_domain_on_request_issues_an_unrestricted_sending_key(
        rig: RotationRig) -> None:
    configure(rig, resend_group(params='key_name = "production"', domain="*"))
    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None)
    assert result.state == "rotated", result.account
    (new_key,) = (k for k in _keys(rig).values() if k["name"] != "management")
    assert (new_key["permission"], new_key["domain_id"]) == ("sending_access", None)


def test_resend_finds_the_old_key_beyond_the_first_page(rig: RotationRig) -> None:
    # Resend lists newest first, at most 100 a page: the seeded key ends up on page 2.
    for n in range(100):
        rig.sandbox.resend_state.add_key(f"other-{n}")
    configure(rig, resend_group(params='key_name = "production"'))
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=rig.environ)
    assert plan.ready, plan.blockers
    pages = [p for m, p in rig.sandbox.resend.requests if p == "/api-keys" and m == "GET"]
    assert len(pages) >= 2


# -- Railway shared variables -------------------------------------------------------------

def test_shared_variable_changes_at_the_source_and_its_consumers_redeploy(
        rig: RotationRig) -> None:
    sandbox, ids = rig.sandbox, rig.sandbox.ids
    state = sandbox.railway_state
    state.set_variables(ids.railway_environment_id, None,
                        {"NEXTAUTH_SECRET": rig.seeded.nextauth_secret})
    state.set_variables(ids.railway_environment_id, ids.backend_service_id,
                        {"NEXTAUTH_SECRET": "${{shared.NEXTAUTH_SECRET}}"})
    sandbox.deploy_railway_service("backend")
    configure(rig, "")
    text = rig.config_path.read_text().replace(
        'targets = ["railway:backend@production", "vercel:frontend:',
        'targets = ["railway:shared@production", "vercel:frontend:')
    rig.config_path.write_text(text)
    (plan,) = plan_rotation(rig.settings, ["nextauth"], environ=rig.environ)
    data = plan.to_json()
    assert data["ready"], data["blockers"]
    assert [u["unit"] for u in data["redeploys"]] == [*FRONTEND_UNITS,
                                                      "railway:backend@production"]
    assert any(c["location"] == "Railway shared variables (production) NEXTAUTH_SECRET"
               for c in data["changes"])
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                            on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    shared = state.raw_variables(ids.railway_environment_id, None)["NEXTAUTH_SECRET"]
    assert shared == rig.new_value != rig.seeded.nextauth_secret
    backend = state.raw_variables(ids.railway_environment_id, ids.backend_service_id)
    assert backend["NEXTAUTH_SECRET"] == "${{shared.NEXTAUTH_SECRET}}"  # never a literal
    assert _live_backend_env(rig)["NEXTAUTH_SECRET"] == rig.new_value
    _healthy(rig)
