"""Rotation of NEXTAUTH_SECRET across Railway backend + Vercel frontend (production + preview)
against the sandbox: real loopback HTTP, real app processes, real PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import (  # noqa: E402
    BACKEND_UNIT,
    FRONTEND_UNITS,
    VARIABLE,
    RotationRig,
    assert_no_plaintext,
    end_state,
    write_config,
)

from rotator.cli import main  # noqa: E402
from rotator.config import load_config  # noqa: E402
from rotator.errors import ConfigError  # noqa: E402
from rotator.rotate.config import load_rotation_settings  # noqa: E402
from rotator.rotate.generate import generate_secret  # noqa: E402
from rotator.rotate.journal import JournalError, RotationJournal, load_journal_key  # noqa: E402
from rotator.rotate.lock import GroupLocked  # noqa: E402
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402
from rotator.sandbox.sandbox import VERCEL_PREVIEW_BRANCHES  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)  # fixture: rig (postgres_server is in conftest.py)


def _sandbox_snapshot(rig: RotationRig) -> tuple:
    sandbox, ids = rig.sandbox, rig.sandbox.ids
    return (
        json.dumps(sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                       ids.backend_service_id), sort_keys=True),
        json.dumps(sandbox.vercel_state.envs[ids.vercel_project_id], sort_keys=True),
        len(sandbox.railway_state.deployments), len(sandbox.vercel_state.deployments),
    )


@pytest.mark.railway_plan("hobby")  # the sandbox's default plan, 10 requests/s
def test_full_rotation_leaves_both_services_healthy_on_the_new_value(rig: RotationRig) -> None:
    lines: list[str] = []
    journal_snapshots: list[bytes] = []

    def on_step(step: str) -> None:
        rig.capture_new_value(step)
        if step == "apply-pushed":  # the journal holds both values now
            journal_snapshots.extend(p.read_bytes() for p in rig.state_dir.glob("*.journal"))

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=on_step)
    assert result.state == "rotated" and result.exit_code == 0, result.account
    assert end_state(rig) == "rotated"
    assert rig.new_value != rig.old_value
    assert len(base64.b64decode(rig.new_value)) == 32
    # every Vercel row of the key: production (sensitive), preview for all branches and for
    # one branch, the custom environment, development
    rows = [r for r in rig.sandbox.vercel_state.envs[rig.sandbox.ids.vercel_project_id]
            if r["key"] == VARIABLE]
    assert len(rows) == 5 and all(r["value"] == rig.new_value for r in rows)
    # every deployment those rows feed was redeployed, and each target's own app process now
    # runs on the new value and agrees with the backend (end_state checked their /health)
    assert [u["unit"] for u in rig.journal(result.run_id).units] == FRONTEND_UNITS + [BACKEND_UNIT]
    assert sorted(rig.sandbox.frontend_health()) == sorted(
        ["production", f"env:{rig.sandbox.vercel_custom_environment_id()}",
         *(f"preview:{b}" for b in VERCEL_PREVIEW_BRANCHES)])
    # the journal is ciphertext, and the finished journal keeps no values at all
    (snapshot,) = journal_snapshots
    for value in (rig.old_value, rig.new_value):
        assert value.encode() not in snapshot
    assert_no_plaintext(rig, *lines, *result.account)
    journal = rig.journal(result.run_id)
    assert all("new_value" not in loc and "old_value" not in loc for loc in journal.locations)
    record = json.loads((rig.state_dir / "rotations.json").read_text())["groups"]["nextauth"]
    assert record["run_id"] == result.run_id and record["fingerprint"].startswith("sha256:")
    assert record["mode"] == "leak" and record["rotated_at"].endswith("Z")
    audit = [json.loads(line) for line in (rig.state_dir / "audit.jsonl").read_text().splitlines()]
    assert {"prepared", "apply-pushed", "verified", "finalized"} <= {e["step"] for e in audit}
    assert not (rig.state_dir / "nextauth.lock").exists()


def test_journal_cannot_be_decrypted_without_its_key(rig: RotationRig) -> None:
    captured: list[bytes] = []

    def on_step(step: str) -> None:
        rig.capture_new_value(step)
        if step == "apply-pushed":
            captured.extend(p.read_bytes() for p in rig.state_dir.glob("*.journal"))

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                            on_step=on_step)
    path = rig.state_dir / f"{result.run_id}.journal"
    path.write_bytes(captured[0])  # the mid-run journal, with both values inside
    with pytest.raises(JournalError, match="does not decrypt"):
        RotationJournal.load(path, secrets.token_bytes(32))
    decrypted = RotationJournal.load(path, rig.key)
    assert {loc["old_value"] for loc in decrypted.locations} == {rig.old_value}
    assert {loc["new_value"] for loc in decrypted.locations} == {rig.new_value}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_plan_has_no_side_effects_and_shows_no_values(rig: RotationRig) -> None:
    before = _sandbox_snapshot(rig)
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "--config", str(rig.config_path), "--format", "json"],
                           env=rig.environ)
    assert result.exit_code == 0, result.output
    assert _sandbox_snapshot(rig) == before
    assert not rig.state_dir.exists()
    assert rig.old_value not in result.output
    (plan,) = json.loads(result.output)["plans"]
    assert plan["ready"] is True
    assert [r["unit"] for r in plan["redeploys"]] == FRONTEND_UNITS + [BACKEND_UNIT]
    locations = {c["location"]: c for c in plan["changes"]}
    assert len(locations) == 6  # backend variable + five Vercel rows
    assert any("development row" in note for note in plan["notes"])
    production = next(c for c in plan["changes"] if "sensitive" in c["location"])
    assert production["current"] == "unreadable"
    assert "linked" in production["rollback"]
    text = runner.invoke(main, ["plan", "--config", str(rig.config_path)], env=rig.environ)
    assert text.exit_code == 0 and "NEXTAUTH_SECRET" in text.output
    assert rig.old_value not in text.output


def test_unreadable_row_without_a_known_old_value_blocks_the_rotation(rig: RotationRig) -> None:
    sandbox, ids = rig.sandbox, rig.sandbox.ids
    # Preview row now disagrees with the backend: the sensitive production row's old value
    # can no longer be inferred, so a rollback could not restore it.
    for row in sandbox.vercel_state.envs[ids.vercel_project_id]:
        if row["key"] == VARIABLE and row["target"] == ["preview"]:
            row["value"] = generate_secret("base64-32")
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert not plan.ready and "--no-rollback-for-unreadable" in plan.blockers[0]
    with pytest.raises(Exception, match="cannot be rotated"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    assert not rig.state_dir.exists() or not list(rig.state_dir.glob("*.journal"))
    (allowed,) = plan_rotation(rig.settings, environ=rig.environ, allow_unreadable=True)
    assert allowed.ready and any("cannot restore" in n for n in allowed.notes)


def test_cli_rotate_exits_0_and_prints_no_values(rig: RotationRig) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["rotate", "--secret", "nextauth", "--config", str(rig.config_path)],
                           env=rig.environ)
    assert result.exit_code == 0, result.output
    assert "rotated" in result.output
    assert end_state(rig) == "rotated"
    assert_no_plaintext(rig, result.output)
    live = rig.sandbox.railway_state.raw_variables(rig.sandbox.ids.railway_environment_id,
                                                   rig.sandbox.ids.backend_service_id)[VARIABLE]
    assert live not in result.output and live not in rig.files_text()


def test_second_run_refuses_while_one_is_unfinished(rig: RotationRig) -> None:
    class Kill(BaseException):
        pass

    def kill(step: str) -> None:
        if step == "apply-pushed":
            raise Kill

    with pytest.raises(Kill):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                       on_step=kill)
    with pytest.raises(GroupLocked, match="unfinished rotation"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    result = CliRunner().invoke(main, ["rotate", "--secret", "nextauth", "--config",
                                       str(rig.config_path)], env=rig.environ)
    assert result.exit_code == 2 and "--resume" in result.output
    resumed = CliRunner().invoke(main, ["rotate", "--secret", "nextauth", "--config",
                                        str(rig.config_path), "--resume"], env=rig.environ)
    assert resumed.exit_code == 0, resumed.output
    assert end_state(rig) == "rotated"


def test_unhealthy_services_are_not_rotated(rig: RotationRig) -> None:
    rig.health.fail_next = 100
    with pytest.raises(Exception, match="not healthy before the rotation"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    rig.health.fail_next = 0
    assert end_state(rig) == "previous"


def test_config_errors_name_the_file_and_key(tmp_path) -> None:
    path = tmp_path / "rotator.toml"
    path.write_text('[platforms.railway]\nproject = "p"\n[[secrets]]\nname = "n"\n'
                    'family = "nextauth"\nvariables = ["NEXTAUTH_SECRET"]\n'
                    'targets = ["railway:backend"]\n')
    with pytest.raises(ConfigError, match=r"rotator.toml:7: secrets\[0\].targets\[0\]"):
        load_rotation_settings(load_config(path), {})
    path.write_text('[[secrets]]\nname = "n"\nfamily = "stripe"\nvariables = ["X"]\n'
                    'targets = ["vercel:f:production"]\n')
    with pytest.raises(ConfigError, match=r"secrets\[0\].family.*cannot be rotated") as error:
        load_rotation_settings(load_config(path), {})
    assert "postgres" in error.value.hint and "resend" in error.value.hint
    group = ('[[secrets]]\nname = "n"\nvariables = ["X"]\ntargets = ["vercel:f:production"]\n')
    for extra, message in (
            ('family = "resend"\nparams = {colour = "red"}\n',
             r"secrets\[0\].params: unknown parameter 'colour'"),
            ('family = "resend"\nparams = {permission = "all"}\n',
             r"secrets\[0\].params.permission must be one of"),
            ('family = "resend"\nmode = "leak"\ngrace = "7d"\n',
             r"secrets\[0\].grace: a leaked credential is revoked at once"),
            ('family = "postgres"\ngrace = "7d"\n',
             r"secrets\[0\].grace: family 'postgres' cannot keep"),
            ('family = "resend"\nformat = "hex-32"\n',
             r"secrets\[0\].format: family 'resend' issues its own values")):
        path.write_text(group + extra)
        with pytest.raises(ConfigError, match=message):
            load_rotation_settings(load_config(path), {})


def test_journal_key_file_is_created_0600_and_refused_inside_a_repository(tmp_path) -> None:
    key_file = tmp_path / "config" / "journal.key"
    key = load_journal_key(key_file, {})
    assert len(key) == 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_journal_key(key_file, {}) == key
    os.chmod(key_file, 0o644)
    with pytest.raises(JournalError, match="readable by others"):
        load_journal_key(key_file, {})
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    with pytest.raises(JournalError, match="inside the repository"):
        load_journal_key(tmp_path / "repo" / "journal.key", {})


def test_generated_values_have_the_requested_shape() -> None:
    assert len(bytes.fromhex(generate_secret("hex-32"))) == 32
    assert len(base64.urlsafe_b64decode(generate_secret("urlsafe-32") + "=")) == 32
    assert generate_secret("base64-32") != generate_secret("base64-32")


def test_write_config_helper_is_valid(rig: RotationRig, tmp_path) -> None:
    config = write_config(tmp_path / "other.toml", rig.sandbox, rig.health.url, tmp_path / "s")
    assert load_rotation_settings(load_config(config), rig.environ).group("nextauth")


@pytest.mark.parametrize(("expected", "body", "ok"), [
    ({"status": "healthy"}, {"status": "healthy", "service": "api"}, True),
    ({"status": "healthy"}, {"status": "degraded"}, False),
    ({"checks": {"database": "ok"}}, {"status": "x", "checks": {"database": "ok", "redis": 1}},
     True),
    ({"checks": {"database": "ok"}}, {"checks": {"database": "down"}}, False),
    ({"checks": {"database": "ok"}}, {"checks": "ok"}, False),
    ({"version": 2}, {}, False),
    ({"regions": ["eu"]}, {"regions": ["eu"]}, True),
])
def test_health_json_is_a_subset_match(expected, body, ok) -> None:
    from rotator.rotate.verify import json_subset

    assert json_subset(expected, body) is ok
