"""A real `rotator rotate` process killed by a real signal at several points of its run, then
`rotator rotate --resume` or `rotator rollback RUN_ID` in another process.

The test watches the audit log the running process writes and sends the signal as soon as
the chosen step appears there, so the process dies somewhere after that step — in the middle
of an HTTP call, a deployment poll or a journal write; wherever it is, the end state must be
fully rotated or fully previous, healthy, and no value may be in any file or output.
SIGKILL gives no chance to clean up; SIGTERM and SIGINT must leave a one-line message that
says how to resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import (  # noqa: E402
    BACKEND_UNIT,
    FRONTEND_UNIT,
    RotationRig,
    assert_no_plaintext,
    end_state,
)

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

_WAIT = 60.0


def _rotator(rig: RotationRig, *args: str) -> subprocess.Popen:
    env = {**os.environ, **rig.environ}
    return subprocess.Popen([sys.executable, "-m", "rotator", *args, "--config",
                             str(rig.config_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _steps(rig: RotationRig) -> list[str]:
    try:
        text = (rig.state_dir / "audit.jsonl").read_text("utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line)["step"] for line in text.splitlines() if line.endswith("}")]


def _kill_after(rig: RotationRig, process: subprocess.Popen, step: str, signum: int) -> bool:
    """Signal the process once ``step`` is in its audit log; False if it finished first."""
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        steps = _steps(rig)
        if "prepared" in steps:
            rig.capture_new_value("prepared") if rig.new_value is None else None
        if step in steps:
            process.send_signal(signum)
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    raise AssertionError(f"step {step} never came")


def _finish(rig: RotationRig, how: str) -> subprocess.CompletedProcess:
    if how == "resume":
        process = _rotator(rig, "rotate", "--secret", "nextauth", "--resume")
    else:
        (journal,) = rig.state_dir.glob("*.journal")
        process = _rotator(rig, "rollback", journal.name.removesuffix(".journal"))
    out, err = process.communicate(timeout=_WAIT)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _journal_state(rig: RotationRig) -> str:
    from rotator.rotate.journal import RotationJournal

    (path,) = rig.state_dir.glob("*.journal")
    return RotationJournal.load(path, rig.key).state


CASES = [
    ("prepared", signal.SIGKILL, "resume"),
    ("apply-pushed", signal.SIGKILL, "resume"),
    (f"apply-redeploy-started:{FRONTEND_UNIT}", signal.SIGKILL, "rollback"),
    (f"apply-redeploy-started:{BACKEND_UNIT}", signal.SIGKILL, "resume"),
    ("verified", signal.SIGKILL, "resume"),
    ("apply-pushed", signal.SIGTERM, "rollback"),
    (f"apply-redeploy-started:{FRONTEND_UNIT}", signal.SIGINT, "resume"),
]


@pytest.mark.parametrize(("step", "signum", "how"), CASES,
                         ids=[f"{s.split(':')[0]}-{g.name}-{h}" for s, g, h in CASES])
def test_signal_then_finish(rig: RotationRig, step: str, signum: signal.Signals,
                            how: str) -> None:
    process = _rotator(rig, "rotate", "--secret", "nextauth")
    signalled = _kill_after(rig, process, step, signum)
    out, err = process.communicate(timeout=_WAIT)
    outputs = [out, err]
    lock = rig.state_dir / "nextauth.lock"
    if step != "verified":  # the last step may win the race against the signal
        assert signalled and process.returncode not in (0, 1), "the run was not cut"
    if signalled and process.returncode not in (0, 1):
        # The run was cut. Its journal, not its exit code, says whether it was unfinished: a
        # signal sent on seeing the last step can land after the run finished and removed its
        # lock (during interpreter exit, which a busy machine makes long): the process still
        # dies by the signal. An unfinished run must keep its lock, and say how to go on
        # unless it had no chance.
        state = _journal_state(rig)
        if state not in ("rotated", "rolled_back"):
            assert lock.exists(), f"an unfinished run ({state}) lost its lock"
        if signum != signal.SIGKILL:
            assert process.returncode == 2
            last = err.strip().splitlines()[-1]
            assert last.startswith("error: interrupted: run ") and "--resume" in last, err
        finished = _finish(rig, how)
        outputs += [finished.stdout, finished.stderr]
        if state in ("rotated", "rolled_back"):
            # killed while cleaning up after the last step: nothing left to do, and the
            # follow-up says so (and clears the lock the dead process left)
            assert finished.returncode == 2 and "already finished" in finished.stderr \
                or "no unfinished rotation" in finished.stderr, finished.stderr
            expected = "rotated" if state == "rotated" else "previous"
        else:
            assert finished.returncode in (0, 1), finished.stderr
            expected = "rotated" if "rotated" in finished.stdout.splitlines()[-1] else "previous"
            if how == "rollback":
                assert expected == "previous"
    else:
        expected = "rotated" if process.returncode == 0 else "previous"
    assert end_state(rig) == expected
    assert not lock.exists()
    assert_no_plaintext(rig, *outputs)


def test_a_second_process_is_refused_while_one_runs(rig: RotationRig) -> None:
    # the first run waits out a 429 at its redeploy, still running: a window that does not
    # depend on how fast the second one starts (a 3 s timeout did, and its rollback's
    # verification could fail on a loaded machine; test_rotate_locks holds its runs the same way)
    rig.sandbox.faults.add("deploymentRedeploy", kind="http429", retry_after=8.0)
    first = _rotator(rig, "rotate", "--secret", "nextauth")
    assert _kill_after(rig, first, "apply-pushed", signal.SIGCONT)  # no-op signal: just wait
    second = _rotator(rig, "rotate", "--secret", "nextauth")
    _, err = second.communicate(timeout=_WAIT)
    assert second.returncode == 2
    assert "unfinished rotation" in err or "running in another process" in err
    output = first.communicate(timeout=_WAIT)
    assert first.returncode == 0, output
    assert end_state(rig) == "rotated"
