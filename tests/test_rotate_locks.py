"""Rotations of different secret groups that share a location (here the Railway backend) never
run at once: the second one refuses with one line naming the other run and the shared place,
and goes through once the first is finished. Real `rotator rotate` processes, real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import (  # noqa: E402
    JWT_GROUP,
    RotationRig,
    SimulatedKill,
    assert_no_plaintext,
    end_state,
    write_config,
)

from rotator.rotate.lock import GroupLocked, location_lock_path  # noqa: E402
from rotator.rotate.run import resume_rotation, start_rotation  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

_WAIT = 60.0


@pytest.fixture
def two_groups(rig: RotationRig) -> RotationRig:
    """The rig with a second group (JWT_SECRET) on the backend the nextauth group also uses."""
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=JWT_GROUP)
    return rig


def _rotator(rig: RotationRig, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rotator", *args, "--config",
                             str(rig.config_path)], env={**os.environ, **rig.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(rig: RotationRig, process: subprocess.Popen, step: str) -> None:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        try:
            text = (rig.state_dir / "audit.jsonl").read_text("utf-8")
        except FileNotFoundError:
            text = ""
        steps = [json.loads(line)["step"] for line in text.splitlines() if line.endswith("}")]
        if "prepared" in steps and rig.new_value is None:
            rig.capture_new_value("prepared")
        if step in steps:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"step {step} never came")


def test_second_group_on_a_shared_service_is_refused_while_the_first_runs(
        two_groups: RotationRig) -> None:
    rig = two_groups
    # the first run waits out a 429 at its redeploy, mid-flight and holding its locks (as the
    # other lock tests do): a timeout there could time out the rollback's redeploy too, exit 2
    rig.sandbox.faults.add("deploymentRedeploy", kind="http429", retry_after=8.0)
    first = _rotator(rig, "rotate", "--secret", "nextauth")
    _wait_for_step(rig, first, "apply-pushed")
    second = _rotator(rig, "rotate", "--secret", "jwt")
    out, err = second.communicate(timeout=_WAIT)
    assert second.returncode == 2, (out, err)
    (journal,) = rig.state_dir.glob("*nextauth*.journal")
    first_run = journal.name.removesuffix(".journal")
    (line,) = err.strip().splitlines()
    assert line.startswith("error: railway:backend@production is in use by run "
                           f"{first_run} of secret group 'nextauth' (running now)"), line
    assert "wait for it to finish" in line
    assert not list(rig.state_dir.glob("*jwt*.journal")), "the refused run must change nothing"
    first_out, first_err = first.communicate(timeout=_WAIT)
    assert first.returncode in (0, 1), first_err
    expected = "rotated" if first.returncode == 0 else "previous"
    assert end_state(rig) == expected
    assert not list((rig.state_dir / "locations").glob("*.lock")), "finished run kept a lock"
    # once the first run is finished the second goes through
    again = _rotator(rig, "rotate", "--secret", "jwt")
    again_out, again_err = again.communicate(timeout=_WAIT)
    assert again.returncode == 0, again_err
    assert end_state(rig) == expected
    assert_no_plaintext(rig, out, err, first_out, first_err, again_out, again_err)


def test_two_processes_started_together_one_runs_one_is_refused(
        two_groups: RotationRig) -> None:
    """Both plan at once; the location guard lets exactly one take the shared backend."""
    rig = two_groups
    processes = {group: _rotator(rig, "rotate", "--secret", group)
                 for group in ("nextauth", "jwt")}
    outputs = {group: p.communicate(timeout=_WAIT) for group, p in processes.items()}
    codes = {group: p.returncode for group, p in processes.items()}
    assert sorted(codes.values()) == [0, 2], outputs
    (loser,) = [g for g, code in codes.items() if code == 2]
    (winner,) = [g for g, code in codes.items() if code == 0]
    (line,) = outputs[loser][1].strip().splitlines()
    assert line.startswith("error: railway:backend@production is in use by run "), line
    assert f"of secret group '{winner}'" in line
    assert not list(rig.state_dir.glob(f"*{loser}*.journal"))
    assert not list((rig.state_dir / "locations").glob("*.lock"))
    end_state(rig)  # healthy, and one value everywhere


def test_unfinished_run_holds_its_locations_until_resumed(two_groups: RotationRig) -> None:
    rig = two_groups

    def kill_after_push(step: str) -> None:
        rig.capture_new_value(step)
        if step == "apply-pushed":
            raise SimulatedKill

    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                       on_step=kill_after_push)
    (journal,) = rig.state_dir.glob("*.journal")
    run_id = journal.name.removesuffix(".journal")
    with pytest.raises(GroupLocked) as refused:
        start_rotation(rig.settings, "jwt", environ=rig.environ, echo=lambda _: None)
    assert refused.value.run_id == run_id
    assert f"run {run_id} of secret group 'nextauth' (unfinished)" in str(refused.value)
    assert f"rotator rollback {run_id}" in refused.value.hint
    assert not list(rig.state_dir.glob("*jwt*.journal"))
    result = resume_rotation(rig.settings, "nextauth", environ=rig.environ,
                             echo=lambda _: None)
    assert result.state == "rotated", result.account
    assert start_rotation(rig.settings, "jwt", environ=rig.environ,
                          echo=lambda _: None).state == "rotated"
    assert end_state(rig) == "rotated"


def test_location_lock_of_a_dead_run_is_taken_over(two_groups: RotationRig) -> None:
    """A location file whose run no longer holds its group (died before its journal, or
    finished while being killed) does not block anyone."""
    rig = two_groups
    path = location_lock_path(rig.state_dir, "vercel:frontend")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"run_id": "20260101T000000Z-old-dead00", "group": "old",
                                "location": "vercel:frontend"}))
    lines: list[str] = []
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    assert not path.exists()
    assert end_state(rig) == "rotated"


def test_a_refused_run_leaves_no_lock_behind(two_groups: RotationRig) -> None:
    """A run refused for a location leaves no lock of its own behind (group or location)."""
    rig = two_groups
    # the first run waits out a 429 at its redeploy, holding its locks: a window that does not
    # depend on how fast the second run plans (a timeout's 2 s did, on a loaded machine)
    rig.sandbox.faults.add("deploymentRedeploy", kind="http429", retry_after=8.0)
    first = _rotator(rig, "rotate", "--secret", "jwt")
    _wait_for_step(rig, first, "apply-pushed")
    with pytest.raises(GroupLocked, match="in use by run .* of secret group 'jwt'"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    assert not (rig.state_dir / "nextauth.lock").exists()
    locations = [json.loads(p.read_text())["group"]
                 for p in (rig.state_dir / "locations").glob("*.lock")]
    assert locations and set(locations) == {"jwt"}
    output = first.communicate(timeout=_WAIT)
    assert first.returncode == 0, output
    end_state(rig)
