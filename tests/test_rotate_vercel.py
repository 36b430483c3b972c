"""Rotation on a Vercel project as real ones are laid out: preview branches, a custom
environment, Deployment Checks, team scope by slug, production aliasing turned off."""

from __future__ import annotations

import json

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import FRONTEND_UNIT, FRONTEND_UNITS, RotationRig, end_state  # noqa: E402

from rotator.cli import main  # noqa: E402
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402
from rotator.sandbox.sandbox import VERCEL_PREVIEW_BRANCHES  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)


def _rotate(rig: RotationRig) -> str:
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None,
                            on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    return end_state(rig)


def test_a_custom_environment_that_cannot_be_redeployed_blocks_the_plan_before_anything_changes(
    rig: RotationRig,
) -> None:
    sandbox, project = rig.sandbox, rig.sandbox.ids.vercel_project_id
    broken = sandbox.vercel_state.deploy(project, target=None, git_branch="main",
                                         custom_environment_id=sandbox.vercel_custom_environment_id(),
                                         fault_kind="deployment_failed")
    assert broken.done.wait(30)
    rows_before = json.dumps(sandbox.vercel_state.envs[project], sort_keys=True)
    deployments_before = len(sandbox.vercel_state.deployments)
    result = CliRunner().invoke(main, ["plan", "--config", str(rig.config_path), "--format",
                                       "json"], env=rig.environ)
    (plan,) = json.loads(result.output)["plans"]
    unit = "vercel:frontend:env@staging"
    assert not plan["ready"]
    assert any(b.startswith(unit) and broken.id in b and "ERROR" in b for b in plan["blockers"])
    with pytest.raises(Exception, match="cannot be rotated"):
        start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lambda _: None)
    assert json.dumps(sandbox.vercel_state.envs[project], sort_keys=True) == rows_before
    assert len(sandbox.vercel_state.deployments) == deployments_before


def test_a_failed_preview_branch_is_named_in_a_note_not_a_blocker_nor_a_redeploy(
    rig: RotationRig,
) -> None:
    sandbox, project = rig.sandbox, rig.sandbox.ids.vercel_project_id
    broken = sandbox.vercel_state.deploy(project, target=None,
                                         git_branch=VERCEL_PREVIEW_BRANCHES[1],
                                         fault_kind="deployment_failed")
    assert broken.done.wait(30)
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    unit = f"vercel:frontend:preview@{VERCEL_PREVIEW_BRANCHES[1]}"
    assert plan.ready, plan.blockers
    assert unit not in [u["unit"] for u in plan.units]
    assert any(n.startswith(unit) and broken.id in n and "ERROR" in n and "next push" in n
               for n in plan.notes)


def test_project_without_automatic_aliasing_is_promoted_not_waited_on(rig: RotationRig) -> None:
    state, project = rig.sandbox.vercel_state, rig.sandbox.ids.vercel_project_id
    state.projects[project]["autoAssignCustomDomains"] = False
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    production = next(u for u in plan.to_json()["redeploys"] if u["unit"] == FRONTEND_UNIT)
    assert "promote" in production["call"]
    assert _rotate(rig) == "rotated"
    assert state.projects[project]["lastAliasRequest"]["type"] == "promote"


def test_team_named_by_its_slug_in_the_config(rig: RotationRig) -> None:
    state = rig.sandbox.vercel_state
    state.team_id, state.team_slug = "team_intowork0000000000", "intowork"
    text = rig.config_path.read_text()
    rig.config_path.write_text(text.replace('project = "frontend"\n',
                                            'project = "frontend"\nteam = "intowork"\n', 1))
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert plan.ready, plan.blockers
    assert [u["unit"] for u in plan.units][:len(FRONTEND_UNITS)] == FRONTEND_UNITS
    assert _rotate(rig) == "rotated"


def test_unknown_custom_environment_is_a_blocker(rig: RotationRig) -> None:
    text = rig.config_path.read_text().replace("+development+staging", "+development+qa")
    rig.config_path.write_text(text)
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert any("no custom environment 'qa'" in b for b in plan.blockers)


def test_rows_outside_the_targets_and_their_deployments_are_left_alone(
    rig: RotationRig,
) -> None:
    text = rig.config_path.read_text().replace("production+preview+development+staging",
                                               "production")
    rig.config_path.write_text(text)
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert [u["unit"] for u in plan.units][0] == FRONTEND_UNIT
    assert not any(u["unit"].startswith("vercel:frontend:preview") for u in plan.units)
    assert sum("outside the configured targets" in n for n in plan.notes) == 4


def test_production_rows_hidden_from_the_token_block_the_plan(rig: RotationRig) -> None:
    rig.sandbox.vercel_state.tokens_without_production.add(rig.environ["VERCEL_TOKEN"])
    (plan,) = plan_rotation(rig.settings, environ=rig.environ)
    assert any("cannot see 1 production variable" in b for b in plan.blockers)
