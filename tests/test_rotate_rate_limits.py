"""Rate limits during a rotation: the forward path gives up (and rolls back) when the platform
asks for a wait beyond `max_rate_limit_wait`; the rollback waits longer
(`rollback_rate_limit_wait`) rather than leave services half-restored, and if even that is not
enough the run stops resumable, saying when the limit lifts. Real sandbox, small budgets."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import RotationRig, assert_no_plaintext, end_state, write_config  # noqa: E402

from rotator.config import load_config  # noqa: E402
from rotator.errors import ConfigError  # noqa: E402
from rotator.platforms.http import RateLimited  # noqa: E402
from rotator.rotate.config import load_rotation_settings  # noqa: E402
from rotator.rotate.run import plan_rotation, rollback_run, start_rotation  # noqa: E402
from rotator.sandbox.rate_limit import RequestWindow  # noqa: E402

# pacing and 429 handling under the sandbox's default plan (Hobby, api/railway.md §11)
pytestmark = [pytest.mark.slow, pytest.mark.railway_plan("hobby")]
pytest_plugins = ("rotate_kit",)

BUDGETS = "max_rate_limit_wait = 0.3\nrollback_rate_limit_wait = {rollback}\n"


def _budgets(rig: RotationRig, rollback: float) -> RotationRig:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=BUDGETS.format(rollback=rollback))
    return rig


def _fault_at(rig: RotationRig, at: str, call: str, **fault: object):
    """Step hook: arm ``fault`` on ``call`` once the run reaches step ``at``."""
    def hook(step: str) -> None:
        rig.capture_new_value(step)
        if step == at:
            rig.sandbox.faults.add(call, **fault)
    return hook


def test_long_retry_after_fails_forward_and_the_rollback_waits_it_out(rig: RotationRig) -> None:
    _budgets(rig, rollback=5)
    lines: list[str] = []
    # the first write is refused for 1 s (beyond the rotation's 0.3 s), the rollback's too
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=_fault_at(rig, "apply-started", "variableCollectionUpsert",
                                              kind="http429", retry_after=1, times=2))
    assert result.state == "rolled_back", result.account
    assert "rate-limit wait budget (0.3s" in result.account[0]
    assert [k for _, k in rig.sandbox.faults.triggered].count("http429") == 2
    assert end_state(rig) == "previous"
    assert_no_plaintext(rig, *lines, *result.account)


def test_rollback_beyond_its_budget_stops_resumable_then_finishes(rig: RotationRig) -> None:
    _budgets(rig, rollback=1)
    lines: list[str] = []
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=_fault_at(rig, "apply-started", "variableCollectionUpsert",
                                              kind="http429", retry_after=30, times=2))
    assert result.state == "rollback_failed" and result.exit_code == 2
    incomplete = next(line for line in result.account if line.startswith("ROLLBACK INCOMPLETE"))
    assert "asks to wait 30s, until" in incomplete and "UTC" in incomplete
    assert f"rotator rollback {result.run_id}" in result.account[-1]
    assert (rig.state_dir / "nextauth.lock").exists(), "the unfinished run keeps its lock"
    # the limit lifts: the operator's rollback finishes the job
    finished = rollback_run(rig.settings, result.run_id, environ=rig.environ,
                            echo=lines.append)
    assert finished.state == "rolled_back", finished.account
    assert end_state(rig) == "previous"
    assert_no_plaintext(rig, *lines, *result.account, *finished.account)


def test_a_rotation_paces_through_a_small_railway_window(rig: RotationRig) -> None:
    """Railway's budget is stated on every answer; a run that uses it up waits for the
    window to reset instead of failing (the sandbox refuses requests beyond it)."""
    rig.sandbox.railway.request_window = RequestWindow(limit=15, seconds=1.0)
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ,
                            echo=lambda _: None, on_step=rig.capture_new_value)
    assert result.state == "rotated", result.account
    assert end_state(rig) == "rotated"


def test_plan_states_the_budget_and_blocks_when_it_is_used_up(rig: RotationRig) -> None:
    before = len(rig.sandbox.railway.requests)
    (plan,) = plan_rotation(rig.settings, ["nextauth"], environ=rig.environ)
    reads = len(rig.sandbox.railway.requests) - before
    assert plan.ready
    # the sandbox runs on the Hobby plan by default: 1000 requests an hour (api/railway.md §11)
    assert any(n.startswith("Railway API: ") and " of 1000 requests left" in n
               for n in plan.notes), plan.notes
    # an hourly window the plan's own reads use up exactly: starting would only fail
    rig.sandbox.railway.request_window = RequestWindow(limit=reads, seconds=3600.0)
    (blocked,) = plan_rotation(rig.settings, ["nextauth"], environ=rig.environ)
    assert not blocked.ready
    assert any(b.startswith("Railway's request budget is used up for 60 more min")
               for b in blocked.blockers), blocked.blockers
    # and a window too small for the plan itself: one line, the time it lifts
    with pytest.raises(RateLimited, match=r"until \d\d:\d\d:\d\d UTC"):
        plan_rotation(rig.settings, ["nextauth"], environ=rig.environ)


@pytest.mark.parametrize(("lines", "message"), [
    ("max_rate_limit_wait = -1\n",
     r"rotation\.max_rate_limit_wait must be a number of seconds between 0 and"),
    ("max_rate_limit_wait = 600\nrollback_rate_limit_wait = 60\n",
     r"rollback_rate_limit_wait must be at least max_rate_limit_wait"),
])
def test_rate_limit_budgets_are_validated(rig: RotationRig, lines: str, message: str) -> None:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=lines)
    with pytest.raises(ConfigError, match=message) as error:
        load_rotation_settings(load_config(rig.config_path), rig.environ)
    assert str(error.value).startswith(f"{rig.config_path}:")
