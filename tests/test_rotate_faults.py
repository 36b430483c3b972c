"""Fault injection at every external call of a rotation, and kills between steps.

Every case ends with the same assertions: the sandbox is either fully rotated (stored values on
Railway and every Vercel row, and the env of the live backend and frontend processes, all hold
the new value) and healthy, or fully back on the previous value and healthy — never a mix —
and neither value appears in the journal, lock, audit log, history or printed output.

Fault points (sandbox fault name → what it exercises), injected once the run has started:
  Railway  variableCollectionUpsert  http500 (once: retried; persistent: rollback), http429,
                                     timeout (idempotent: retried)
  Vercel   editProjectEnv            http500 persistent, http429, timeout
  Railway  deploymentRedeploy        http500 (not retried: rollback), http429 (retried),
                                     timeout (may have started a deployment: rollback waits it
                                     out), deployment FAILED, deployment CRASHED
  Vercel   createDeployment          http500, timeout, deployment ERROR, deployment CANCELED
           …:production                checksConclusion failed (READY, never aliased)
           …:preview                   http500, deployment ERROR, checks failed (one branch)
           …:custom                    http500, deployment ERROR (the custom environment)
  Railway  deployment (status poll)  http500 persistent, timeout (retried)
  Vercel   getDeployment (poll)      http500 persistent, http429 (retried)
  health   /health of the backend    503 after both deployments succeeded (verification fails)
Kills (a BaseException from the step hook, i.e. no rollback in-process) after each step:
  prepared, apply-started, apply-set (Railway), apply-pushed, redeploy requested / started /
  deployed for the frontend, redeploy started / deployed for the backend, verified — each
  followed by `rotate --resume`; several also by `rollback RUN_ID`; and a kill in the middle
  of a rollback followed by `--resume` and by `rollback`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import (  # noqa: E402
    BACKEND_UNIT,
    FRONTEND_UNIT,
    RotationRig,
    SimulatedKill,
    assert_no_plaintext,
    end_state,
)

from rotator.cli import main  # noqa: E402
from rotator.rotate.run import (  # noqa: E402
    RotationResult,
    resume_rotation,
    rollback_run,
    start_rotation,
)

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)  # fixture: rig (postgres_server is in conftest.py)

PERSISTENT = 4  # RetryPolicy.max_attempts: every attempt of one call fails
TIMEOUT_DELAY = 1.5  # longer than the config's request_timeout (1.0 s)
BACKEND_SET = f"apply-set:{BACKEND_UNIT}:NEXTAUTH_SECRET"

# (case id, step at which the fault is armed, sandbox call, fault kind, times, expected end)
FAULTS = [
    ("railway-upsert-500-once", "apply-started", "variableCollectionUpsert", "http500", 1,
     "rotated"),
    ("railway-upsert-500-persistent", "apply-started", "variableCollectionUpsert", "http500",
     PERSISTENT, "previous"),
    ("railway-upsert-429", "apply-started", "variableCollectionUpsert", "http429", 1, "rotated"),
    ("railway-upsert-timeout", "apply-started", "variableCollectionUpsert", "timeout", 1,
     "rotated"),
    ("vercel-edit-500-persistent", "apply-started", "editProjectEnv", "http500", PERSISTENT,
     "previous"),
    ("vercel-edit-429", "apply-started", "editProjectEnv", "http429", 1, "rotated"),
    ("vercel-edit-timeout", "apply-started", "editProjectEnv", "timeout", 1, "rotated"),
    ("railway-redeploy-500", "apply-started", "deploymentRedeploy", "http500", 1, "previous"),
    ("railway-redeploy-429", "apply-started", "deploymentRedeploy", "http429", 1, "rotated"),
    ("railway-redeploy-timeout", "apply-started", "deploymentRedeploy", "timeout", 1,
     "previous"),
    ("railway-deployment-failed", "apply-started", "deploymentRedeploy", "deployment_failed", 1,
     "previous"),
    ("railway-deployment-crashed", "apply-started", "deploymentRedeploy", "deployment_crashed",
     1, "previous"),
    ("vercel-redeploy-500", "apply-started", "createDeployment", "http500", 1, "previous"),
    ("vercel-redeploy-timeout", "apply-started", "createDeployment", "timeout", 1, "previous"),
    ("vercel-deployment-error", "apply-started", "createDeployment", "deployment_failed", 1,
     "previous"),
    ("vercel-deployment-canceled", "apply-started", "createDeployment", "deployment_canceled", 1,
     "previous"),
    ("vercel-production-checks-failed", "apply-started", "createDeployment:production",
     "checks_failed", 1, "previous"),
    ("vercel-preview-redeploy-500", "apply-started", "createDeployment:preview", "http500", 1,
     "previous"),
    ("vercel-preview-deployment-error", "apply-started", "createDeployment:preview",
     "deployment_failed", 1, "previous"),
    ("vercel-preview-checks-failed", "apply-started", "createDeployment:preview",
     "checks_failed", 1, "previous"),
    ("vercel-custom-env-redeploy-500", "apply-started", "createDeployment:custom", "http500", 1,
     "previous"),
    ("vercel-custom-env-deployment-error", "apply-started", "createDeployment:custom",
     "deployment_failed", 1, "previous"),
    ("railway-poll-500-persistent", f"apply-redeploy-started:{BACKEND_UNIT}", "deployment",
     "http500", PERSISTENT, "previous"),
    ("railway-poll-timeout", f"apply-redeploy-started:{BACKEND_UNIT}", "deployment", "timeout",
     1, "rotated"),
    ("vercel-poll-500-persistent", f"apply-redeploy-started:{FRONTEND_UNIT}", "getDeployment",
     "http500", PERSISTENT, "previous"),
    ("vercel-poll-429", f"apply-redeploy-started:{FRONTEND_UNIT}", "getDeployment", "http429",
     1, "rotated"),
]


def _hook(rig: RotationRig, *actions: tuple[str, Callable[[], None]]) -> Callable[[str], None]:
    def on_step(step: str) -> None:
        rig.capture_new_value(step)
        for at, action in actions:
            if step == at:
                action()
    return on_step


def _kill() -> None:
    raise SimulatedKill


def _check(rig: RotationRig, expected: str, lines: list[str],
           result: RotationResult | None = None) -> None:
    assert end_state(rig) == expected
    assert_no_plaintext(rig, *lines, *(result.account if result else ()))
    assert not (rig.state_dir / "nextauth.lock").exists(), "finished run left its lock"


@pytest.mark.parametrize(("arm_at", "call", "kind", "times", "expected"),
                         [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_ends_fully_rotated_or_fully_previous(rig: RotationRig, arm_at: str, call: str,
                                                    kind: str, times: int,
                                                    expected: str) -> None:
    lines: list[str] = []
    arm = (arm_at, lambda: rig.sandbox.faults.add(call, kind=kind, times=times,
                                                  retry_after=0.05, delay=TIMEOUT_DELAY))
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=_hook(rig, arm))
    assert (call, kind) in rig.sandbox.faults.triggered
    assert result.state == {"rotated": "rotated", "previous": "rolled_back"}[expected], (
        result.account)
    assert result.exit_code == {"rotated": 0, "previous": 1}[expected]
    _check(rig, expected, lines, result)


def test_failing_health_check_rolls_everything_back(rig: RotationRig) -> None:
    lines: list[str] = []

    def fail_health() -> None:
        rig.health.fail_next = rig.settings.timing.health_attempts

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=_hook(rig, (f"apply-deployed:{BACKEND_UNIT}", fail_health)))
    assert result.state == "rolled_back" and result.exit_code == 1
    assert any("health" in line for line in result.account)
    _check(rig, "previous", lines, result)


KILL_POINTS = [
    "prepared",
    "apply-started",
    BACKEND_SET,
    "apply-pushed",
    f"apply-redeploy-requested:{FRONTEND_UNIT}",
    f"apply-redeploy-started:{FRONTEND_UNIT}",
    f"apply-deployed:{FRONTEND_UNIT}",
    f"apply-redeploy-started:{BACKEND_UNIT}",
    f"apply-deployed:{BACKEND_UNIT}",
    "verified",
]


def _killed_run(rig: RotationRig, kill_at: str, lines: list[str]) -> str:
    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                       on_step=_hook(rig, (kill_at, _kill)))
    (journal,) = rig.state_dir.glob("*.journal")
    assert (rig.state_dir / "nextauth.lock").exists(), "an unfinished run must keep its lock"
    return journal.name.removesuffix(".journal")


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_kill_then_resume_finishes_the_rotation(rig: RotationRig, kill_at: str) -> None:
    lines: list[str] = []
    _killed_run(rig, kill_at, lines)
    result = resume_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append)
    assert result.state == "rotated", result.account
    _check(rig, "rotated", lines, result)


@pytest.mark.parametrize("kill_at", [KILL_POINTS[0], BACKEND_SET,
                                     f"apply-redeploy-started:{FRONTEND_UNIT}",
                                     f"apply-redeploy-started:{BACKEND_UNIT}", "verified"])
def test_kill_then_rollback_restores_the_previous_value(rig: RotationRig, kill_at: str) -> None:
    lines: list[str] = []
    run_id = _killed_run(rig, kill_at, lines)
    result = CliRunner().invoke(main, ["rollback", "--config", str(rig.config_path), run_id],
                                env=rig.environ)
    assert result.exit_code == 1, result.output
    assert "rolled_back" in result.output
    _check(rig, "previous", [*lines, result.output])


@pytest.mark.parametrize("follow_up", ["resume", "rollback"])
def test_kill_during_rollback_then_finish_the_rollback(rig: RotationRig, follow_up: str) -> None:
    lines: list[str] = []
    rig.sandbox.faults.add("deploymentRedeploy", kind="deployment_failed")
    with pytest.raises(SimulatedKill):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                       on_step=_hook(rig, (BACKEND_SET.replace("apply-", "rollback-"), _kill)))
    (journal,) = rig.state_dir.glob("*.journal")
    run_id = journal.name.removesuffix(".journal")
    if follow_up == "resume":
        result = resume_rotation(rig.settings, "nextauth", environ=rig.environ,
                                 echo=lines.append)
    else:
        result = rollback_run(rig.settings, run_id, environ=rig.environ, echo=lines.append)
    assert result.state == "rolled_back", result.account
    _check(rig, "previous", lines, result)
