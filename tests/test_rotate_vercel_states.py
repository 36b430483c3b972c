"""Rotation on Vercel as its API really answers: BLOCKED, DELETED, aliasError, plan and build
limits, retention-deleted and long-idle preview branches, legacy rows, an env list that says
more rows follow. Each rotation ends all-old or all-new and healthy; each plan that cannot be
kept is refused before anything changes."""

from __future__ import annotations

import json

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import FRONTEND_UNIT, RotationRig, assert_no_plaintext, end_state  # noqa: E402

from rotator.rotate import inventory  # noqa: E402
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402
from rotator.sandbox.sandbox import VERCEL_PREVIEW_BRANCHES  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

STALE_BRANCH = VERCEL_PREVIEW_BRANCHES[1]
STALE_UNIT = f"vercel:frontend:preview@{STALE_BRANCH}"


@pytest.mark.parametrize(("call", "kind", "says"), [
    ("createDeployment:production", "deployment_failed", "ERROR (BUILD_FAILED injected fault"),
    ("createDeployment:production", "deployment_blocked", "BLOCKED (DEPLOYMENT_BLOCKED"),
    ("createDeployment:production", "deployment_deleted", "DELETED"),
    ("createDeployment:production", "alias_failed", "ALIAS_DOMAIN_FAILED"),
    ("createDeployment:preview", "deployment_blocked", "BLOCKED"),
    ("createDeployment", "http402", "402"),
    ("createDeployment", "builds_rate_limited", "limit of deployments"),
])
def test_vercel_refusals_roll_back_at_once_with_the_platform_reason(
    rig: RotationRig, call: str, kind: str, says: str,
) -> None:
    lines: list[str] = []

    def on_step(step: str) -> None:
        rig.capture_new_value(step)
        if step == "apply-started":
            rig.sandbox.faults.add(call, kind=kind)

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=on_step)
    assert (call, kind) in rig.sandbox.faults.triggered
    assert result.state == "rolled_back" and result.exit_code == 1, result.account
    assert any(says in line for line in [*result.account, *lines]), result.account
    assert end_state(rig) == "previous"
    assert_no_plaintext(rig, *lines, *result.account)


def test_a_blocked_deployment_is_not_waited_on_before_the_redeploy(rig: RotationRig) -> None:
    sandbox, project = rig.sandbox, rig.sandbox.ids.vercel_project_id
    blocked = sandbox.vercel_state.deploy(project, target="production",
                                          fault_kind="deployment_blocked")
    assert blocked.done.wait(30) and blocked.ready_state == "BLOCKED"
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ,
                            echo=lambda _: None, on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    assert end_state(rig) == "rotated"


def test_a_branch_removed_by_retention_is_not_redeployed_and_the_rest_rotates(
    rig: RotationRig,
) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    state.delete_by_retention(state.live_deployment(project, f"preview:{STALE_BRANCH}"))
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert plan.ready, plan.blockers
    assert STALE_UNIT not in [u["unit"] for u in plan.units]
    assert FRONTEND_UNIT in [u["unit"] for u in plan.units]
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ,
                            echo=lambda _: None, on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    assert end_state(rig) == "rotated"


def test_branches_idle_longer_than_preview_days_are_left_out_of_the_listing(
    rig: RotationRig,
) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    idle = state.live_deployment(project, f"preview:{STALE_BRANCH}")
    idle.created_at -= 40 * 86400 * 1000  # deployed 40 days ago
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    units = [u["unit"] for u in plan.units]
    assert plan.ready and STALE_UNIT not in units
    assert f"vercel:frontend:preview@{VERCEL_PREVIEW_BRANCHES[0]}" in units
    rig.config_path.write_text(rig.config_path.read_text().replace(
        'project = "frontend"\n', 'project = "frontend"\npreview_days = 60\n', 1))
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert STALE_UNIT in [u["unit"] for u in plan.units]


def test_a_custom_environment_idle_longer_than_preview_days_is_still_redeployed(
    rig: RotationRig,
) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    custom = rig.sandbox.vercel_custom_environment_id()
    state.live_deployment(project, f"env:{custom}").created_at -= 400 * 86400 * 1000
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert "vercel:frontend:env@staging" in [u["unit"] for u in plan.units]


def test_the_listing_cap_is_named_in_a_note(rig: RotationRig,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory, "VERCEL_LISTING_MAX_PAGES", 1)
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    for branch in ("feature-a", "feature-b"):  # more deployments than one sandbox page (5)
        assert state.deploy(project, target=None, git_branch=branch).done.wait(30)
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert any("were read (cap)" in note for note in plan.notes), plan.notes


def test_an_env_list_that_says_more_rows_follow_blocks_the_plan(rig: RotationRig) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    state.env_page_limit = 3
    rows_before = json.dumps(state.envs[project], sort_keys=True)
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert not plan.ready
    assert any("more to follow" in b and "could be missed" in b for b in plan.blockers)
    with pytest.raises(Exception, match="cannot be rotated"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    assert json.dumps(state.envs[project], sort_keys=True) == rows_before


def test_a_legacy_secret_row_blocks_the_plan_with_the_way_out(rig: RotationRig) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    (preview,) = [r for r in state.envs[project] if r["key"] == "NEXTAUTH_SECRET"
                  and r["target"] == ["preview"] and not r.get("gitBranch")]
    preview["type"] = "secret"
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert not plan.ready
    assert any("legacy type 'secret'" in b and "remove it, then add it again" in b
               for b in plan.blockers), plan.blockers

