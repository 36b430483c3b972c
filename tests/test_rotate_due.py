"""The scheduled job: `rotator rotate --due` against the sandbox, the rotation record that
survives ephemeral CI runners, and the example GitHub Actions workflow in docs/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import RotationRig, assert_no_plaintext, end_state, write_config  # noqa: E402

from rotator.cli import main  # noqa: E402
from rotator.rotate.config import SecretGroup, parse_target  # noqa: E402
from rotator.rotate.due import decide  # noqa: E402
from rotator.rotate.record import RotationRecord, format_time  # noqa: E402

pytest_plugins = ("rotate_kit",)

DOCS = Path(__file__).parents[1] / "docs"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _group(max_age: int | None) -> SecretGroup:
    return SecretGroup("g", "nextauth", ("X",), (parse_target("railway:a@b", "t"),), "hex-32",
                       max_age_days=max_age)


@pytest.mark.parametrize(("max_age", "rotated_days_ago", "due", "reason"), [
    (None, 400, False, "no max_age"),
    (90, None, True, "no rotation on record"),
    (90, 89, False, "last rotated 89 days ago"),
    (90, 90, True, "last rotated 90 days ago"),
    (90, 200, True, "last rotated 200 days ago"),
])
def test_due_decision(tmp_path, max_age, rotated_days_ago, due, reason) -> None:
    record = RotationRecord(tmp_path / "r.json")
    if rotated_days_ago is not None:
        record.rotated("g", run_id="r1", mode="scheduled",
                       at=NOW - timedelta(days=rotated_days_ago), fingerprint=None, provider={})
    decision = decide(_group(max_age), record, NOW)
    assert (decision.due, decision.reason.startswith(reason)) == (due, True)


def test_unreadable_record_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "rotations.json"
    path.write_text("{not json")
    with pytest.raises(Exception, match="rotation record .* is unreadable") as error:
        RotationRecord.load(path)
    assert "version control" in error.value.hint



def _runner_config(rig: RotationRig, state_dir: Path, record: Path) -> None:
    write_config(rig.config_path, rig.sandbox, rig.health.url, state_dir,
                 extra=f'record_file = "{record}"\n')


@pytest.mark.slow
def test_due_rotates_once_and_the_record_carries_over_to_a_fresh_runner(
        rig: RotationRig, tmp_path) -> None:
    record = tmp_path / "repo" / ".rotator" / "rotations.json"
    # runner 1: nothing on record, so the group is due
    _runner_config(rig, tmp_path / "runner1", record)
    first = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path),
                                      "--format", "json"], env=rig.environ)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["decisions"] == [{"group": "nextauth", "due": True,
                                     "reason": "no rotation on record"}]
    assert [r["state"] for r in summary["runs"]] == ["rotated"]
    assert end_state(rig) == "rotated"
    entry = json.loads(record.read_text())["groups"]["nextauth"]
    assert entry["run_id"] == summary["runs"][0]["run_id"]
    # runner 2: a new machine (empty state dir), the same committed record: not due
    _runner_config(rig, tmp_path / "runner2", record)
    second = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                                env=rig.environ)
    assert second.exit_code == 0, second.output
    assert "nextauth: not due (last rotated 0 days ago, max_age 90 days)" in second.stdout
    assert "0 rotation(s), 0 failure(s)" in second.stdout
    # a quarter later it is due again
    data = json.loads(record.read_text())
    data["groups"]["nextauth"]["rotated_at"] = format_time(datetime.now(UTC)
                                                           - timedelta(days=91))
    record.write_text(json.dumps(data))
    third = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                               env=rig.environ)
    assert third.exit_code == 0, third.output
    assert "nextauth: rotated" in third.stdout
    text = record.read_text()
    assert rig.old_value not in text and "sha256:" in text
    assert_no_plaintext(rig, first.output, second.output, third.output, text)


@pytest.mark.slow
def test_due_failure_exits_1_with_a_summary(rig: RotationRig) -> None:
    rig.sandbox.faults.add("deploymentRedeploy", kind="deployment_crashed")
    result = CliRunner().invoke(main, ["rotate", "--due", "--config", str(rig.config_path)],
                                env=rig.environ)
    assert result.exit_code == 1, result.output
    assert "nextauth: rolled_back" in result.stdout
    assert "FAILED nextauth: rolled_back" in result.stdout
    assert "1 rotation(s), 1 failure(s)" in result.stdout
    assert end_state(rig) == "previous"


@pytest.mark.slow
def test_rotate_and_rollback_speak_json(rig: RotationRig) -> None:
    result = CliRunner().invoke(main, ["rotate", "--secret", "nextauth", "--config",
                                       str(rig.config_path), "-f", "json"], env=rig.environ)
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert run["state"] == "rotated" and run["exit_code"] == 0 and run["group"] == "nextauth"
    assert any(line.startswith("rotated nextauth") for line in run["account"])


def test_due_refuses_a_secret_or_resume() -> None:
    result = CliRunner().invoke(main, ["rotate", "--due", "--secret", "x"])
    assert result.exit_code == 2
    assert "--due picks the groups itself" in result.output


def test_example_workflow_runs_the_due_job_quarterly_with_secrets_only() -> None:
    text = (DOCS / "quarterly-rotation.yml").read_text("utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on → True
    minute, hour, day, months, weekday = triggers["schedule"][0]["cron"].split()
    assert day == "1" and months == "1,4,7,10"
    job = workflow["jobs"]["rotate"]
    assert all(value.startswith("${{ secrets.") or "github.workspace" in value
               for value in job["env"].values())
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "rotator rotate --due" in runs
    assert "git add .rotator/rotations.json" in runs
    uploads = [s for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["if"] == "always()"
    assert workflow["concurrency"]["cancel-in-progress"] is False
