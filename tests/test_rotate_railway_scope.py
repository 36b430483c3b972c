"""Rotation on Railway as it is: a project token's other environments are plan blockers, and a
deployment waiting for approval is named, never waited out."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import BACKEND_UNIT, RotationRig, end_state, write_config  # noqa: E402

from rotator.errors import RotatorError  # noqa: E402
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402
from rotator.sandbox.rotation_config import secret_group_toml  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

STAGING_VALUE = "staging-nextauth-secret-0123456789abcdef"


def _staging_group(rig: RotationRig) -> str:
    """A staging environment holding the key too, and a group that names both environments."""
    ids, state = rig.sandbox.ids, rig.sandbox.railway_state
    staging = state.add_environment(ids.railway_project_id, "staging")
    state.set_variables(staging, ids.backend_service_id, {"NEXTAUTH_SECRET": STAGING_VALUE})
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=secret_group_toml("both", "nextauth", ["NEXTAUTH_SECRET"],
                                         ["railway:backend@production",
                                          "railway:backend@staging"]))
    return staging


def test_a_target_outside_the_project_tokens_environment_blocks_the_plan(
        rig: RotationRig) -> None:
    staging = _staging_group(rig)
    environ = {k: v for k, v in rig.environ.items() if k != "RAILWAY_API_TOKEN"}
    environ["RAILWAY_TOKEN"] = rig.sandbox.tokens.railway_project_token
    (plan,) = plan_rotation(rig.settings, ["both"], environ=environ)
    (blocker,) = plan.blockers
    assert blocker.startswith("railway:backend@staging: ")
    assert "'production' only" in blocker and "RAILWAY_API_TOKEN" in blocker
    # production is still read and planned; nothing was refused "Not Authorized" on the way
    assert [loc["target"] for loc in plan.current.locations] == ["railway:backend@production"]
    writes_before = rig.sandbox.railway.requests.copy()
    with pytest.raises(RotatorError, match="cannot be rotated"):
        start_rotation(rig.settings, "both", environ=environ, echo=lambda _: None)
    assert rig.sandbox.railway_state.raw_variables(
        staging, rig.sandbox.ids.backend_service_id)["NEXTAUTH_SECRET"] == STAGING_VALUE
    assert len(rig.sandbox.railway.requests) > len(writes_before)  # it did read, then refused
    # the account token reaches both environments: nothing blocks
    (plan,) = plan_rotation(rig.settings, ["both"], environ=rig.environ)
    assert plan.blockers == []


def test_a_deployment_waiting_for_approval_blocks_the_plan(rig: RotationRig) -> None:
    ids, state = rig.sandbox.ids, rig.sandbox.railway_state
    state.deploy(ids.railway_environment_id, ids.backend_service_id,
                 fault_kind="deployment_needs_approval").done.wait(10)
    (plan,) = plan_rotation(rig.settings, ["nextauth"], environ=rig.environ)
    assert any(b.startswith(f"{BACKEND_UNIT}: deployment ") and "NEEDS_APPROVAL" in b
               and "approve or remove it in Railway" in b for b in plan.blockers), plan.blockers


@pytest.mark.parametrize("kind", ["deployment_needs_approval", "deployment_waiting"])
def test_a_redeploy_that_stalls_rolls_back_with_the_reason(rig: RotationRig, kind: str) -> None:
    lines: list[str] = []

    def arm(step: str) -> None:
        if step == f"apply-redeploy-requested:{BACKEND_UNIT}":
            rig.sandbox.faults.add("deploymentRedeploy", kind=kind)

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=arm)
    assert result.state == "rolled_back" and result.exit_code == 1, result.account
    account = " ".join(result.account)
    assert "waits" in account and ("NEEDS_APPROVAL" in account or "WAITING" in account)
    assert end_state(rig) == "previous"
