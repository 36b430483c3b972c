"""Fault injection at every READ a rotation makes (writes and deploys: test_rotate_faults.py).

Most read points get one recoverable fault (a 429 with Retry-After or a timeout: retried, the
run ends rotated) and each one that outlasts the retries (persistent 500s, or an answer with a
malformed JSON body, which is not retried); the kinds rotate over the points to keep the
matrix small. A read that fails while planning
stops the run before anything changes: one line naming the platform and the call, no
journal, no lock. A read that fails mid-run rolls everything back. Every case ends all-old or
all-new, healthy, with no value in any output or file.

Read points (sandbox fault name, step at which it is armed — "start": before the run):
  Railway  projects             start                         project lookup (plan)
  Railway  variables            start                         variables of the group (plan)
  Railway  deployments          apply-deployed:vercel         settle + latest deployment
  Railway  variables            apply-deployed:railway        read-back (verify)
  Vercel   filterProjectEnvs    start / apply-started         env list (plan; before each edit)
  Vercel   getProjectEnv        start / apply-deployed        decrypted value (plan; verify)
  Vercel   getDeployments       apply-pushed                  production deployments (settle)
  Vercel   getProject           apply-pushed                  project (before the redeploy)
  Resend   api-keys/list        start                         key list (plan of a Resend group)
The Resend key list is also what the sandbox backend's own health check calls, so a fault
armed mid-run would hit the app, not rotator; those are covered by the health-check cases.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import (  # noqa: E402
    BACKEND_UNIT,
    FRONTEND_UNIT,
    RotationRig,
    assert_no_plaintext,
    end_state,
    resend_group,
    write_config,
)

from rotator.platforms.http import PlatformError  # noqa: E402
from rotator.rotate.run import start_rotation  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

PERSISTENT = 4  # RetryPolicy.max_attempts: every attempt of one read fails
TIMEOUT_DELAY = 1.5  # longer than the rig's request_timeout (1.0 s)
START = "start"
VERIFY = f"apply-deployed:{BACKEND_UNIT}"

# (case id, armed at, sandbox call, fault kind, times, expected end)
#   expected: "rotated" | "previous" (rolled back) | "refused" (failed while planning)
READ_FAULTS = [
    ("railway-projects-500-persistent", START, "workspace", "http500", PERSISTENT, "refused"),
    ("railway-variables-malformed", START, "variables", "malformed", 1, "refused"),
    ("railway-deployments-500-persistent", f"apply-deployed:{FRONTEND_UNIT}", "deployments",
     "http500", PERSISTENT, "previous"),
    ("railway-deployments-timeout", f"apply-deployed:{FRONTEND_UNIT}", "deployments",
     "timeout", 1, "rotated"),
    ("railway-readback-malformed", VERIFY, "variables", "malformed", 1, "previous"),
    ("railway-readback-429", VERIFY, "variables", "http429", 1, "rotated"),
    ("vercel-envs-timeout", START, "filterProjectEnvs", "timeout", 1, "rotated"),
    ("vercel-envs-500-persistent", START, "filterProjectEnvs", "http500", PERSISTENT,
     "refused"),
    ("vercel-envs-before-edit-malformed", "apply-started", "filterProjectEnvs", "malformed", 1,
     "previous"),
    ("vercel-envs-before-edit-429", "apply-started", "filterProjectEnvs", "http429", 1,
     "rotated"),
    ("vercel-env-value-malformed", START, "getProjectEnv", "malformed", 1, "refused"),
    ("vercel-readback-500-persistent", VERIFY, "getProjectEnv", "http500", PERSISTENT,
     "previous"),
    ("vercel-deployments-500-persistent", "apply-pushed", "getDeployments", "http500",
     PERSISTENT, "previous"),
    ("vercel-deployments-429", "apply-pushed", "getDeployments", "http429", 1, "rotated"),
    ("vercel-project-malformed", START, "getProject", "malformed", 1, "refused"),
]


def _fault_hook(rig: RotationRig, at: str, call: str, kind: str, times: int):
    def arm() -> None:
        rig.sandbox.faults.add(call, kind=kind, times=times, retry_after=0.05,
                               delay=TIMEOUT_DELAY)
    if at == START:
        arm()

    def on_step(step: str) -> None:
        rig.capture_new_value(step)
        if step == at:
            arm()
    return on_step


def _assert_nothing_started(rig: RotationRig, group: str) -> None:
    assert not list(rig.state_dir.glob("*.journal")), "a refused run wrote a journal"
    assert not (rig.state_dir / f"{group}.lock").exists()
    assert not list((rig.state_dir / "locations").glob("*.lock"))


@pytest.mark.parametrize(("arm_at", "call", "kind", "times", "expected"),
                         [f[1:] for f in READ_FAULTS], ids=[f[0] for f in READ_FAULTS])
def test_read_fault_ends_all_old_or_all_new(rig: RotationRig, arm_at: str, call: str,
                                            kind: str, times: int, expected: str) -> None:
    lines: list[str] = []
    hook = _fault_hook(rig, arm_at, call, kind, times)
    if expected == "refused":
        with pytest.raises(PlatformError) as error:
            start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                           on_step=hook)
        message = str(error.value)
        assert "\n" not in message and call.lower() in message.lower(), message
        assert "Next step:" in message
        _assert_nothing_started(rig, "nextauth")
        assert end_state(rig) == "previous"
        assert_no_plaintext(rig, *lines, message)
        return
    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=hook)
    assert (call, kind) in rig.sandbox.faults.triggered
    if expected == "rotated":
        assert result.state == "rotated", result.account
    else:
        assert result.state == "rolled_back", result.account
        reason = result.account[0]
        assert reason.startswith("rotation of nextauth failed and was rolled back: ")
        assert call.lower() in reason.lower() and "\n" not in reason, reason
    assert end_state(rig) == expected
    assert_no_plaintext(rig, *lines, *result.account)
    assert not (rig.state_dir / "nextauth.lock").exists()


@pytest.mark.parametrize(("kind", "times", "refused"), [
    ("malformed", 1, True), ("http500", PERSISTENT, True), ("http429", 1, False)])
def test_resend_key_list_fault_while_planning(rig: RotationRig, kind: str, times: int,
                                              refused: bool) -> None:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group(params=f'key_id = "{rig.sandbox.ids.resend_key_id}"'))
    rig.sandbox.faults.add("api-keys/list", kind=kind, times=times, retry_after=0.05)
    lines: list[str] = []
    if refused:
        with pytest.raises(PlatformError, match="^Resend api-keys/list: ") as error:
            start_rotation(rig.settings, "resend", environ=rig.environ, echo=lines.append)
        assert "\n" not in str(error.value)
        _assert_nothing_started(rig, "resend")
        assert end_state(rig) == "previous"  # the NEXTAUTH_SECRET side is untouched too
        return
    result = start_rotation(rig.settings, "resend", environ=rig.environ, echo=lines.append)
    assert result.state == "rotated", result.account
    assert ("api-keys/list", kind) in rig.sandbox.faults.triggered
