"""Edges of the rotation protocol found in review: a verified run only goes forward, a rollback
restores only what was written, write-only rows are never guessed where values differ per
location, grace revocations cannot be lost, the recorded Resend key wins, stale locks clear,
and bad config values are one-line errors."""

from __future__ import annotations

import json

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import (  # noqa: E402
    BACKEND_UNIT,
    RotationRig,
    SimulatedKill,
    database_group,
    end_state,
    resend_group,
    write_config,
)

from rotator.cli import main  # noqa: E402
from rotator.config import load_config  # noqa: E402
from rotator.errors import ConfigError, RotatorError  # noqa: E402
from rotator.rotate.config import load_rotation_settings  # noqa: E402
from rotator.rotate.lock import lock_path  # noqa: E402
from rotator.rotate.run import (  # noqa: E402
    plan_rotation,
    resume_rotation,
    rollback_run,
    start_rotation,
)

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)


def _kill(at: str):
    def on_step(step: str) -> None:
        if step == at:
            raise SimulatedKill
    return on_step


def _run_id(rig: RotationRig) -> str:
    (journal,) = rig.state_dir.glob("*.journal")
    return journal.name.removesuffix(".journal")


def test_resume_after_verified_finishes_even_if_health_flaps(rig: RotationRig) -> None:
    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                       on_step=lambda step: (rig.capture_new_value(step),
                                             _kill("verified")(step)))
    rig.health.fail_next = 1000  # a verified run is not judged again
    result = resume_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    rig.health.fail_next = 0
    assert result.state == "rotated"
    assert end_state(rig) == "rotated"


def test_rollback_is_refused_once_the_old_credential_is_revoked(rig: RotationRig) -> None:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group(params=f'key_id = "{rig.sandbox.ids.resend_key_id}"'))
    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "resend", environ=rig.environ, echo=lambda _: None,
                       on_step=_kill("revoked-old"))
    run_id = _run_id(rig)
    with pytest.raises(RotatorError, match="can only be finished") as error:
        rollback_run(rig.settings, run_id, environ=rig.environ, echo=lambda _: None)
    assert "--resume" in error.value.hint
    assert resume_rotation(rig.settings, "resend", environ=rig.environ,
                           echo=lambda _: None).state == "rotated"
    assert rig.sandbox.ids.resend_key_id not in rig.sandbox.resend_state.keys


def test_rollback_restores_only_the_locations_it_wrote(rig: RotationRig) -> None:
    rig.sandbox.faults.add("variableCollectionUpsert", kind="http500", times=4)
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                            on_step=rig.capture_new_value)
    assert result.state == "rolled_back"
    audit = [json.loads(line)["step"]
             for line in (rig.state_dir / "audit.jsonl").read_text().splitlines()]
    assert f"apply-set-requested:{BACKEND_UNIT}:NEXTAUTH_SECRET" in audit
    restored = [s for s in audit if s.startswith("rollback-set:")]
    assert restored == [f"rollback-set:{BACKEND_UNIT}:NEXTAUTH_SECRET"]  # Vercel never written
    assert end_state(rig) == "previous"


def test_a_write_only_url_is_never_guessed_from_another_environment(rig: RotationRig) -> None:
    vercel, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    preview_url = rig.seeded.database_url.replace("/app_", "/preview_")
    vercel.add_env(project, "DATABASE_URL", preview_url, target=["preview"])
    vercel.add_env(project, "DATABASE_URL", rig.seeded.database_url, target=["production"],
                   type="sensitive")
    group = database_group().replace('targets = ["railway:Postgres@production"]',
                                     'targets = ["railway:Postgres@production", '
                                     '"vercel:frontend:production+preview"]')
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=group)
    (plan,) = plan_rotation(rig.settings, ["database"], environ=rig.environ)
    assert not plan.ready
    assert any("production, sensitive" in b and "built from it" in b for b in plan.blockers)


def test_grace_revocation_survives_a_crash_after_it_is_recorded(rig: RotationRig) -> None:
    old_id = rig.sandbox.ids.resend_key_id
    environ = {**rig.environ, "RESEND_API_KEY": rig.sandbox.resend_state.add_key("ops")[1]}
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group("scheduled", f'key_id = "{old_id}"', 'grace = "7d"'))
    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "resend", environ=environ, echo=lambda _: None,
                       on_step=_kill("revoked-old"))
    assert resume_rotation(rig.settings, "resend", environ=environ,
                           echo=lambda _: None).state == "rotated"
    record = json.loads((rig.state_dir / "rotations.json").read_text())["groups"]["resend"]
    (pending,) = record["pending_revocations"]
    assert pending["provider"]["old_key_id"] == old_id
    # the next rotation finds the key in use from the record, not the retiring one the
    # parameters still name, and never picks a key whose revocation is pending
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group("leak", f'key_id = "{old_id}"'))
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=environ)
    assert plan.ready, plan.blockers
    assert plan.family.provider["old_key_id"] == record["provider"]["new_key_id"]
    assert any("only needed for the first rotation" in note for note in plan.notes)


def test_grace_without_a_separate_management_key_is_blocked(rig: RotationRig) -> None:
    # The backend uses the team's full_access key, which is also RESEND_API_KEY here.
    ids = rig.sandbox.ids
    rig.sandbox.railway_state.set_variables(ids.railway_environment_id, ids.backend_service_id,
                                            {"RESEND_API_KEY": rig.environ["RESEND_API_KEY"]})
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group("scheduled", 'key_name = "management"', 'grace = "7d"',
                                    domain=None))
    (plan,) = plan_rotation(rig.settings, ["resend"], environ=rig.environ)
    assert any("grace" in b and "RESEND_API_KEY" in b for b in plan.blockers)


def test_stale_locks_are_cleared(rig: RotationRig) -> None:
    rig.state_dir.mkdir(parents=True)
    path = lock_path(rig.state_dir, "nextauth")
    path.write_text(json.dumps({"run_id": "20260101T000000Z-nextauth-dead00", "pid": 1}))
    lines: list[str] = []
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append)
    assert result.state == "rotated"
    assert any("removed a stale lock" in line and "before writing a journal" in line
               for line in lines)
    # a lock left behind by a run that had finished
    path.write_text(json.dumps({"run_id": result.run_id, "pid": 1}))
    with pytest.raises(RotatorError, match="no unfinished rotation"):
        resume_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append)
    assert not path.exists()


def test_due_reports_revocations_of_groups_no_longer_configured(rig: RotationRig) -> None:
    rig.state_dir.mkdir(parents=True)
    (rig.state_dir / "rotations.json").write_text(json.dumps({"version": 1, "groups": {
        "nextauth": {"rotated_at": "2099-01-01T00:00:00Z"},
        "old-resend": {"pending_revocations": [{"run_id": "r1",
                                                "not_before": "2000-01-01T00:00:00Z",
                                                "provider": {"old_key_id": "k"}}]}}}))
    result = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                                env=rig.environ)
    assert result.exit_code == 1
    assert "old-resend: a revocation is pending" in result.stdout
    (rig.state_dir / "rotations.json").write_text(json.dumps({"version": 1, "groups": {
        "nextauth": {"pending_revocations": [{"run_id": "r1", "not_before": "soon"}]}}}))
    broken = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                                env=rig.environ)
    assert broken.exit_code == 2
    assert "rotation record" in broken.stderr and "pending revocation lacks" in broken.stderr


@pytest.mark.parametrize(("fragment", "message"), [
    ('max_age = "0d"', r"secrets\[\d\]\.max_age must look like"),
    ("params = {admin_url_env = 5}", r"params\.admin_url_env must be a non-empty string"),
])
def test_bad_group_values_are_config_errors(rig: RotationRig, fragment: str,
                                            message: str) -> None:
    group = database_group().replace("params = {}", fragment)
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=group)
    with pytest.raises(ConfigError, match=message):
        load_rotation_settings(load_config(rig.config_path), rig.environ)


def test_state_dir_must_be_a_string(tmp_path) -> None:
    path = tmp_path / "rotator.toml"
    path.write_text('[platforms.railway]\nproject = "p"\n[[secrets]]\nname = "n"\n'
                    'family = "nextauth"\nvariables = ["X"]\ntargets = ["railway:a@b"]\n'
                    "[rotation]\nstate_dir = 5\n")
    with pytest.raises(ConfigError, match=r"rotator.toml:9: rotation.state_dir must be"):
        load_rotation_settings(load_config(path), {})
