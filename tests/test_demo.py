"""`rotator demo`: the whole loop on the real sandbox (loopback servers, app processes, git,
PostgreSQL), its exit codes, its redaction, and that it leaves nothing behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rotator.demo import VARIABLE, DemoResult, run_demo
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

DEMO = [sys.executable, "-m", "rotator", "demo"]  # what the `rotator` script runs
HEADERS = ("== 1/5 audit", "== 2/5 locate", "== 3/5 plan", "== 4/5 rotate", "== 5/5 verify")


class Watch:
    """A ``prepare`` hook that keeps the sandbox, to read its values after the run (the demo
    itself never hands a value out)."""

    def __init__(self, fault: str | None = None) -> None:
        self.fault = fault
        self.sandbox: Sandbox | None = None
        self.leaked = ""

    def __call__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.leaked = self.backend_value()
        if self.fault:
            sandbox.faults.add(self.fault, kind="deployment_crashed")

    def backend_value(self) -> str:
        assert self.sandbox is not None and self.sandbox.ids is not None
        ids = self.sandbox.ids
        return self.sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                        ids.backend_service_id)[VARIABLE]


def _workdir(output: str) -> Path:
    match = re.search(r"^working directory: (\S+)", output, re.MULTILINE)
    assert match, output
    return Path(match[1])


def _assert_no_value(output: str, *values: str) -> None:
    for value in values:
        assert value and value not in output
        assert value[:12] not in output and value[-12:] not in output


def test_demo_finds_locates_rotates_and_verifies_without_printing_the_secret(
        postgres_server: LocalPostgres) -> None:
    lines: list[str] = []
    watch = Watch()
    cache_before = os.environ.get("ROTATOR_CACHE_DIR")

    result = run_demo(lines.append, postgres=postgres_server, prepare=watch)

    output = "\n".join(lines)
    assert isinstance(result, DemoResult)
    assert (result.state, result.exit_code, result.verified) == ("rotated", 0, True), output
    positions = [output.index(header) for header in HEADERS]
    assert positions == sorted(positions)
    assert "railway:backend (production) NEXTAUTH_SECRET" in result.live_before
    # Railway backend; Vercel production, preview, preview of one branch, development, staging
    assert len(result.stored_before) == 6
    assert len(result.frontend_health) == 4 and set(result.frontend_health.values()) == {200}
    assert "vercel:frontend:preview@feature-login" in output  # previews are redeployed too
    assert result.live_after == [] and result.stored_after == []
    assert (result.health_status, result.health_body["status"]) == (200, "healthy")
    assert "run " + result.run_id + ": rotated" in output
    assert re.search(r"done in \d+\.\d s", output)
    new_value = watch.backend_value()
    assert new_value != watch.leaked
    _assert_no_value(output, watch.leaked, new_value)
    assert not _workdir(output).exists()
    assert os.environ.get("ROTATOR_CACHE_DIR") == cache_before


class WatchValue(Watch):
    """Keeps the sandbox and reads one stored variable (the credential of a family)."""

    def __init__(self, service: str, variable: str) -> None:
        super().__init__()
        self.service, self.variable = service, variable

    def backend_value(self) -> str:
        assert self.sandbox is not None and self.sandbox.ids is not None
        ids = self.sandbox.ids
        service_id = {"backend": ids.backend_service_id,
                      "Postgres": ids.postgres_service_id}[self.service]
        return self.sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                        service_id)[self.variable]


@pytest.mark.parametrize(("family", "service", "variable"), [
    ("postgres", "Postgres", "POSTGRES_PASSWORD"), ("resend", "backend", "RESEND_API_KEY")])
def test_demo_family_rotates_on_the_stock_layout_and_ends_healthy(
        postgres_server: LocalPostgres, family: str, service: str, variable: str) -> None:
    lines: list[str] = []
    watch = WatchValue(service, variable)

    result = run_demo(lines.append, family=family, postgres=postgres_server, prepare=watch)

    output = "\n".join(lines)
    assert (result.state, result.exit_code, result.verified) == ("rotated", 0, True), output
    assert result.live_before and result.stored_before
    assert result.live_after == [] and result.stored_after == []
    assert (result.health_status, result.health_body["status"]) == (200, "healthy")
    if family == "postgres":
        assert ("the password's one literal home: POSTGRES_PASSWORD "
                "(railway:Postgres@production)") in output
        assert "railway:worker (production) DATABASE_URL" in result.stored_before
        assert "railway:backend@production: deployment" in output  # the referrer redeployed
    new_value = watch.backend_value()
    assert new_value != watch.leaked
    _assert_no_value(output, watch.leaked, new_value)


def test_demo_refuses_an_unknown_family() -> None:
    from click.testing import CliRunner

    from rotator.cli import main

    result = CliRunner().invoke(main, ["demo", "--family", "stripe"])
    assert result.exit_code == 2 and "nextauth" in result.output


def test_a_rolled_back_rotation_exits_1_and_keep_leaves_the_run_on_disk(
        postgres_server: LocalPostgres) -> None:
    lines: list[str] = []
    watch = Watch(fault="deploymentRedeploy")  # the backend's new deployment crashes

    result = run_demo(lines.append, postgres=postgres_server, prepare=watch, keep=True)

    output = "\n".join(lines)
    try:
        assert (result.state, result.exit_code) == ("rolled_back", 1), output
        assert watch.backend_value() == watch.leaked  # the previous value is back
        assert len(result.stored_after) == 6
        assert result.health_status == 200
        assert "failed and was rolled back" in output
        _assert_no_value(output, watch.leaked)
        kept = result.kept
        assert kept is not None and kept == _workdir(output)
        assert f"kept {kept}" in output
        assert (kept / "repo" / ".git").is_dir() and (kept / "rotator.toml").is_file()
        assert (kept / "state" / "audit.jsonl").is_file()
        assert (kept / "cache").is_dir()  # the scan cache went here, not to ~/.cache
    finally:
        if result.kept:
            shutil.rmtree(result.kept)


def _isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ROTATOR_", "XDG_", "RAILWAY_", "VERCEL_", "RESEND_"))}
    env.update(HOME=str(home), TMPDIR=str(root / "tmp"), NO_COLOR="1",
               XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_RUNTIME_DIR=str(home / "run"))
    return env


def _empty_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    dirs = (tmp_path / "home", tmp_path / "cwd", tmp_path / "tmp")
    for directory in dirs:
        directory.mkdir()
    return dirs


def test_cli_demo_exits_0_and_writes_nothing_outside_its_temporary_directory(tmp_path: Path) -> None:
    # how long it takes is bench/bench_rotation.py's figure: tests never assert on time
    home, cwd, tmp = _empty_dirs(tmp_path)
    completed = subprocess.run(DEMO, cwd=cwd,
                               env=_isolated_env(tmp_path), capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
    for header in HEADERS:
        assert header in completed.stdout
    # its own PostgreSQL included: every file went under TMPDIR, and that is gone too
    assert _workdir(completed.stdout).parent == tmp
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []


def _running(psutil, processes) -> list:
    """Those still running (a zombie has ended; one gone while we look has too)."""
    running = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_interrupting_the_rotation_stops_every_process_and_removes_the_directory(
        tmp_path: Path, signum: int) -> None:
    psutil = pytest.importorskip("psutil", reason="optional: psutil is not among rotator's dependencies")
    home, cwd, tmp = _empty_dirs(tmp_path)
    demo = subprocess.Popen(DEMO, cwd=cwd,
                            env=_isolated_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    output = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if line.startswith("== 4/5 rotate"):
                break
        else:
            pytest.fail("the demo ended before step 4:\n" + "".join(output)
                        + demo.communicate(timeout=60)[1])
        children = psutil.Process(demo.pid).children(recursive=True)
        assert children, "the sandbox apps should be running"
        # delivered to the demo alone: stopping its apps and PostgreSQL is its own job
        demo.send_signal(signum)
        rest, stderr = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 2, "".join(output) + rest + stderr
    assert "done in" not in rest
    assert stderr.strip().splitlines() == ["error: interrupted"]
    workdir = _workdir("".join(output))
    assert not workdir.exists()
    # processes told to stop may take a moment to be reaped on a loaded machine: wait for them
    # (bounded), then none may be left running
    _, alive = psutil.wait_procs(children, timeout=15)
    assert _running(psutil, alive) == []
    postgres = [p for p in psutil.process_iter(["cmdline"])
                if any(str(workdir) in part for part in p.info["cmdline"] or [])]
    _, still = psutil.wait_procs(postgres, timeout=15)
    assert _running(psutil, still) == []
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []


def test_a_sandbox_request_that_fails_writes_nothing_to_the_terminal(capfd) -> None:
    """A request the sandbox fails mid-answer (its client gone, the sandbox stopping under
    Ctrl-C) must not print socketserver's traceback after `error: interrupted`."""
    import threading
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler

    from rotator.sandbox.server import QuietServer

    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            raise ConnectionResetError("the client went away")

        def log_message(self, *args) -> None:
            pass

    server = QuietServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=5)  # noqa: S310
    finally:
        server.shutdown()
        server.server_close()
    assert capfd.readouterr().err == ""
